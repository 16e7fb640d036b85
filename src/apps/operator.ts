import type { Certificates } from '../certs/certificates.js';
import type { GitPortCertificate } from '../certs/git-port-certificate.js';
import type { ServedCertificate } from '../server/certificate.js';
import type { ServeOptions } from '../server/options.js';
import { BerthError, ConflictError, NotFoundError } from '../errors.js';
import { HOST_NAMES_LOCK, type AppLocks } from '../deploy/lock.js';
import type { CronScheduler } from '../deploy/cron.js';
import type { DeployPipeline } from '../deploy/pipeline.js';
import { checkAppName } from '../model/app.js';
import type { LivenessInfo, NewRelease } from '../model/api.js';
import type { HookTarget } from '../git/repos.js';
import { releaseFiles } from '../deploy/release-files.js';
import type { DeployOutput } from '../log/output.js';
import type { DataPlane } from '../proxy/data-plane.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Schedulers } from '../runtime/scheduler.js';
import type { SwarmCluster } from '../runtime/swarm/cluster.js';
import type { AppRecord, Store } from '../store/store.js';

export interface AppServiceDeps {
  options: ServeOptions;
  runtime: Runtime;
  store: Store;
  proxy: DataPlane;
  pipeline: DeployPipeline;
  locks: AppLocks;
  hook: HookTarget;
  certs: Certificates;
  /** Runs the apps' cron jobs; cron:list and cron:run go through it. */
  cron: CronScheduler;
  /** What the git port serves now (undefined over plain HTTP), and its ACME certificate for --server-name when it gets one. */
  gitPort?: { served(): ServedCertificate | undefined; acme: GitPortCertificate | undefined };
  /** How the liveness checks of a live container fare (berth serve's LivenessMonitor). */
  liveness?: { liveness(containerId: string): LivenessInfo | undefined };
  /** Where each app's containers run; without it, on the runtime's engine. */
  schedulers?: Schedulers;
  /** berth's swarm: its manager and the nodes of nodes:add. */
  cluster?: SwarmCluster;
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

  /**
   * Runs `work` with the app's record as it is once no push or other operation holds the app, so
   * nothing read can go stale before it is written: every operation that reads the record and
   * then changes the app runs in here. An unknown app fails at once, without waiting.
   */
  async withApp<T>(name: string, what: string, output: DeployOutput | undefined, work: (app: AppRecord) => Promise<T>): Promise<T> {
    await this.get(name);
    return this.withLock(name, what, output, async () => work(await this.get(name)));
  }

  /** A new release of the live image (or of `from`): start, checks, switch, drain, like a push. */
  async redeploy(name: string, description: string, output: DeployOutput, from?: ImageSource): Promise<number> {
    return this.withApp(name, description, output, (app) => this.redeployHeld(app, description, output, from));
  }

  /** redeploy, for a caller that holds the app's lock and has just read `app` under it. */
  async redeployHeld(app: AppRecord, description: string, output: DeployOutput, from?: ImageSource): Promise<number> {
    if (!app.live) throw new ConflictError(`${app.name} has not been deployed yet`, 'push it first: git push deploy main');
    const { image, commit } = from ?? app.live;
    const tree = releaseFiles(this.deps.store, this.deps.runtime, app.name, { commit, image });
    const outcome = await this.deps.pipeline.deploy({ app: app.name, source: { kind: 'image', image, tree }, description, output });
    if (!outcome.ok) throw new BerthError(`${description} of ${app.name} failed at the ${outcome.stage} stage: ${outcome.message}`, 'the previous release is still serving');
    return outcome.release;
  }

  /**
   * A change already stored reaches the containers: as a new release when the app runs, else when
   * it next starts. For a caller that holds the app's lock and has just written `app` under it.
   */
  async applyStored(app: AppRecord, description: string, output: DeployOutput): Promise<NewRelease> {
    if (!app.live || app.stopped) {
      output.info('The change applies when the app next starts');
      return null;
    }
    return this.redeployHeld(app, description, output);
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

  /**
   * Runs `work` while no other app changes its host names, so that a name checked free is still
   * free when it is written. Taken after an app's lock, never before, so two operations cannot
   * each hold what the other waits for.
   */
  withHostNames<T>(what: string, work: () => Promise<T>): Promise<T> {
    return this.withLock(HOST_NAMES_LOCK, what, undefined, work);
  }
}
