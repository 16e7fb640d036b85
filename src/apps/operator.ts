import type { ServeOptions } from '../server/options.js';
import { BerthError, ConflictError, NotFoundError } from '../errors.js';
import type { AppLocks } from '../deploy/lock.js';
import type { DeployPipeline } from '../deploy/pipeline.js';
import { checkAppName } from '../model/app.js';
import type { NewRelease } from '../model/api.js';
import type { HookTarget } from '../git/repos.js';
import { CommitTree } from '../git/tree.js';
import type { DeployOutput } from '../log/output.js';
import type { DataPlane } from '../proxy/data-plane.js';
import type { Runtime } from '../runtime/runtime.js';
import type { AppRecord, Store } from '../store/store.js';

export interface AppServiceDeps {
  options: ServeOptions;
  runtime: Runtime;
  store: Store;
  proxy: DataPlane;
  pipeline: DeployPipeline;
  locks: AppLocks;
  hook: HookTarget;
}

/** A release of a kept image instead of the live one: what a rollback deploys. */
export interface ImageSource {
  image: string;
  commit: string;
}

/**
 * What every group of app operations shares: reading an app, the app's lock, and a new release
 * through the same pipeline as a push, so a change made between pushes is checked and switched
 * just as losslessly and waits for the app like a push does.
 */
export class AppOperator {
  constructor(readonly deps: AppServiceDeps) {}

  /** The app, or a NotFoundError that says how to find the right name. */
  async get(name: string): Promise<AppRecord> {
    checkAppName(name);
    const app = await this.deps.store.getApp(name);
    if (!app) throw new NotFoundError(`no app named ${name}`, 'see berth apps:list, or create it with berth apps:create');
    return app;
  }

  /** A new release of the live image (or of `from`): start, checks, switch, drain, like a push. */
  async redeploy(name: string, description: string, output: DeployOutput, from?: ImageSource): Promise<number> {
    return this.withLock(name, description, output, async () => {
      // Read again under the lock: a push that held it may have changed the live release.
      const app = await this.get(name);
      if (!app.live) throw new ConflictError(`${name} has not been deployed yet`, 'push it first: git push deploy main');
      const { image, commit } = from ?? app.live;
      const tree = new CommitTree(this.deps.store.repoDir(name), commit);
      const outcome = await this.deps.pipeline.deploy({ app: name, source: { kind: 'image', image, tree }, description, output });
      if (!outcome.ok) throw new BerthError(`${description} of ${name} failed at the ${outcome.stage} stage: ${outcome.message}`, 'the previous release is still serving');
      return outcome.release;
    });
  }

  /** A change already stored reaches the containers: as a new release when the app runs, else when it next starts. */
  async applyStored(app: AppRecord, description: string, output: DeployOutput): Promise<NewRelease> {
    if (!app.live || app.stopped) {
      output.info('The change applies when the app next starts');
      return null;
    }
    return this.redeploy(app.name, description, output);
  }

  /** Runs `work` once no push or other operation holds the app; says so on `output` while it waits. */
  async withLock<T>(name: string, what: string, output: DeployOutput | undefined, work: () => Promise<T>): Promise<T> {
    const unlock = await this.deps.locks.acquire(name, { description: what, since: Date.now() }, (current) => {
      output?.section(`Waiting: ${name} is busy with ${current.description}`);
    });
    try {
      return await work();
    } finally {
      unlock();
    }
  }
}
