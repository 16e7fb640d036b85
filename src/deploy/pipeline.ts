import type { ServeOptions } from '../server/options.js';
import { BerthError, describe, throwIfStopped, timeLimit } from '../errors.js';
import { CommitTree, type CommitReader } from '../git/tree.js';
import { buildImage } from '../build/builder.js';
import { parseProcfile, ProcfileError, type Procfile } from '../build/procfile.js';
import { formatDuration, type DeployOutput } from '../log/output.js';
import type { ReverseProxy } from '../proxy/reverse-proxy.js';
import { fireTrigger } from '../plugins/triggers.js';
import type { ContainerHandle, Plugin, Trigger, TriggerContext } from '../plugins/types.js';
import { appHostNames, appPort, defaultHostName, WEB_PROCESS } from '../model/app.js';
import { appLabels, imageName } from '../model/naming.js';
import type { Runtime } from '../runtime/runtime.js';
import type { AppRecord, ContainerRecord, ReleaseRecord, Store } from '../store/store.js';
import { retireRelease, type RetiringRelease } from './retire.js';
import { Stage, type DeployOutcome } from './stages.js';

export interface PipelineDeps {
  options: ServeOptions;
  runtime: Runtime;
  store: Store;
  proxy: ReverseProxy;
  plugins: Plugin[];
}

/** A push builds its commit; everything else (config, scale, restart, rollback) reuses a built image. */
export type ReleaseSource = { kind: 'push'; tree: CommitReader } | { kind: 'image'; image: string; tree: CommitReader };

export interface DeployRequest {
  app: string;
  source: ReleaseSource;
  /** Shown in `berth releases`: "push", "config change: set FOO", "rollback to release 3"... */
  description: string;
  output: DeployOutput;
  /** Fires when whoever asked for the deploy is gone (the git client was interrupted). */
  cancelled?: AbortSignal;
}

const LOG_LINES_ON_FAILURE = 20;
const PROCFILE = 'Procfile';
const PROCFILE_MAX_BYTES = 64 * 1024;

/** Everything one deploy knows as it moves through its stages. */
interface DeployRun {
  app: AppRecord;
  release: ReleaseRecord;
  tree: CommitReader;
  output: DeployOutput;
  signal: AbortSignal;
  stage: Stage;
  containers: ContainerHandle[];
  /** Set once a push's build succeeded; a rollback or restart reuses an image it must not remove. */
  builtImage: string | undefined;
  failure: { stage: string; message: string } | undefined;
}

/**
 * The one place that orders a deploy: build, start, check, switch, retire, with the plugin
 * triggers between them. Until the switch nothing live is touched, so any failure before it
 * only has to remove the new containers.
 */
export class DeployPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async deploy(request: DeployRequest): Promise<DeployOutcome> {
    const { store, options } = this.deps;
    const started = Date.now();
    const app = await store.getApp(request.app);
    if (!app) return { ok: false, release: undefined, stage: 'prepare', message: `app ${request.app} does not exist` };
    const release = await store.createRelease(request.app, request.source.tree.commit, request.description);
    const run: DeployRun = {
      app,
      release,
      tree: request.source.tree,
      output: request.output,
      signal: AbortSignal.any([timeLimit(options.deployTimeoutSeconds, 'the deploy', '--deploy-timeout'), ...(request.cancelled ? [request.cancelled] : [])]),
      stage: Stage.Build,
      containers: [],
      builtImage: undefined,
      failure: undefined,
    };
    let outcome: DeployOutcome;
    try {
      if (request.source.kind === 'push') await this.build(run);
      else await this.reuseImage(run, request.source.image);
      await this.start(run);
      await this.check(run);
      const retiring = await this.switchTraffic(run);
      await this.fire(run, 'post-deploy');
      await this.retire(run, retiring);
      run.release.finishedAt = new Date().toISOString();
      await store.saveRelease(app.name, run.release);
      run.output.section(`Done: ${app.name} release ${release.id} deployed in ${formatDuration(Date.now() - started)}`);
      outcome = { ok: true, release: release.id, stageMs: release.stageMs };
    } catch (error) {
      outcome = await this.fail(run, error);
    }
    await store.saveDeployLog(app.name, release.id, request.output.transcript()).catch(() => undefined);
    await store.pruneDeployLogs(app.name, options.keepDeployLogs).catch(() => undefined);
    return outcome;
  }

  private async timed<T>(run: DeployRun, stage: Stage, work: () => Promise<T>): Promise<T> {
    run.stage = stage;
    const started = Date.now();
    try {
      return await work();
    } finally {
      run.release.stageMs[stage] = Date.now() - started;
    }
  }

  private async setStatus(run: DeployRun, status: ReleaseRecord['status']): Promise<void> {
    run.release.status = status;
    await this.deps.store.saveRelease(run.app.name, run.release);
  }

  private async build(run: DeployRun): Promise<void> {
    const { runtime, options } = this.deps;
    const image = imageName(options.instance, run.app.name, run.release.id);
    await this.timed(run, Stage.Build, async () => {
      run.output.section(`Building ${run.app.name} (release ${run.release.id}) from commit ${run.tree.commit.slice(0, 7)}`);
      await this.fire(run, 'pre-build');
      const buildSignal = AbortSignal.any([run.signal, timeLimit(options.buildTimeoutSeconds, 'the build', '--build-timeout')]);
      await buildImage({ runtime, tree: run.tree, image, labels: appLabels(options.instance, run.app.name, run.release.id), logger: run.output, signal: buildSignal });
      run.release.image = image;
      run.builtImage = image;
      await this.fire(run, 'post-build');
    });
  }

  private async reuseImage(run: DeployRun, image: string): Promise<void> {
    await this.timed(run, Stage.Build, async () => {
      run.output.section(`Releasing ${run.app.name} (release ${run.release.id}): ${run.release.description}, image ${image}`);
      if (!(await this.deps.runtime.imageExists(image))) {
        throw new BerthError(`the image ${image} is no longer on this server`, `push the app again (berth keeps the images of the last ${this.deps.options.keepReleases} releases)`);
      }
      run.release.image = image;
    });
  }

  private async readProcfile(run: DeployRun): Promise<Procfile> {
    const file = await run.tree.readFile(PROCFILE, PROCFILE_MAX_BYTES);
    if (!file) return {};
    try {
      return parseProcfile(file.content.toString('utf8'));
    } catch (error) {
      if (error instanceof ProcfileError) throw new BerthError(error.message, 'fix the Procfile and push again');
      throw error;
    }
  }

  /** One container per unit of the app's formation; `web` runs the image's command unless the Procfile names one. */
  private async start(run: DeployRun): Promise<void> {
    const { runtime } = this.deps;
    await this.setStatus(run, 'starting');
    await this.timed(run, Stage.Start, async () => {
      const procfile = await this.readProcfile(run);
      const formation = Object.entries(run.app.formation).filter(([, count]) => count > 0);
      for (const [type] of formation) {
        if (type !== WEB_PROCESS && !procfile[type]) throw new BerthError(`the app is scaled to run "${type}" but its Procfile has no ${type} line`, `add "${type}: COMMAND" to the Procfile, or berth ps:scale ${run.app.name} ${type}=0`);
      }
      for (const [type, count] of formation) {
        for (let index = 1; index <= count; index++) {
          run.output.section(`Starting ${run.app.name} ${type}${count > 1 ? `.${index}` : ''} (release ${run.release.id})`);
          const record = await runtime.startContainer({
            app: run.app.name,
            release: run.release.id,
            image: run.release.image!,
            processType: type,
            index,
            command: procfile[type],
            port: appPort(run.app.config),
            env: run.app.config,
          });
          run.containers.push(this.handle(record));
          run.output.info(type === WEB_PROCESS ? `Container ${record.name} at ${record.ip}:${record.port}` : `Container ${record.name} (no proxy)`);
        }
      }
      for (const container of run.containers) await this.fire(run, 'pre-deploy', container);
    });
  }

  private async check(run: DeployRun): Promise<void> {
    await this.setStatus(run, 'checking');
    await this.timed(run, Stage.Check, async () => {
      run.output.section(`Checking ${run.app.name} (release ${run.release.id})`);
      if (run.app.checks === 'disabled') {
        run.output.warn(`Checks are disabled for ${run.app.name}: the new release goes live unchecked (berth checks:enable ${run.app.name})`);
        return;
      }
      if (run.app.checks === 'skip-next') {
        run.output.warn(`Checks skipped for this deploy only (berth checks:skip ${run.app.name})`);
        await this.deps.store.updateApp(run.app.name, (record) => (record.checks = 'enabled'));
        return;
      }
      for (const container of run.containers) await this.fire(run, 'check-deploy', container);
    });
  }

  /** The point of no return: once the switch tier has loaded the new upstream the release is live. */
  private async switchTraffic(run: DeployRun): Promise<RetiringRelease | undefined> {
    const { proxy, options, store } = this.deps;
    throwIfStopped(run.signal);
    await this.setStatus(run, 'switching');
    return this.timed(run, Stage.Switch, async () => {
      const host = defaultHostName(run.app.name, options.domain);
      run.output.section(`Switching ${host} to release ${run.release.id}`);
      const web = run.containers.filter((c) => c.process === WEB_PROCESS);
      const { retiringWorkers } = await proxy.switchApp({
        app: run.app.name,
        release: run.release.id,
        serverNames: appHostNames(run.app, options.domain),
        upstreams: web.map((c) => ({ host: c.ip, port: c.port })),
      });
      const previous = run.app.live;
      const live = {
        release: run.release.id,
        commit: run.tree.commit,
        image: run.release.image!,
        containers: run.containers.map(({ id, name, process, ip, port }) => ({ id, name, process, ip, port })),
      };
      await store.updateApp(run.app.name, (record) => {
        record.live = live;
        record.stopped = false;
      });
      if (previous) await proxy.settle(retiringWorkers);
      run.release.liveAt = new Date().toISOString();
      await this.setStatus(run, 'live');
      const port = options.httpPort === 80 ? '' : `:${options.httpPort}`;
      run.output.info(`nginx config tested and loaded: http://${host}${port}/ now sends every new request to release ${run.release.id}`);
      if (!previous) return undefined;
      return { release: previous.release, containers: previous.containers, workers: retiringWorkers };
    });
  }

  /** After the switch a retirement problem is reported but never undoes the deploy. */
  private async retire(run: DeployRun, retiring: RetiringRelease | undefined): Promise<void> {
    await this.timed(run, Stage.Retire, async () => {
      try {
        if (retiring) await this.fire(run, 'pre-retire');
        await retireRelease({ ...this.deps, app: run.app.name, liveImage: run.release.image!, retiring, logger: run.output });
        if (retiring) {
          const old = await this.deps.store.getRelease(run.app.name, retiring.release);
          if (old) await this.deps.store.saveRelease(run.app.name, { ...old, status: 'retired' });
        }
      } catch (error) {
        run.output.warn(`Retiring the previous release did not finish: ${describe(error)}. The new release is live; berth will clean up on the next deploy.`);
      }
    });
  }

  private async fail(run: DeployRun, error: unknown): Promise<DeployOutcome> {
    const message = describe(error);
    const hint = error instanceof BerthError ? error.hint : undefined;
    run.failure = { stage: run.stage, message };
    run.output.error(`Deploy of ${run.app.name} (release ${run.release.id}) failed at the ${run.stage} stage: ${message}`);
    if (hint) run.output.error(hint);
    for (const container of run.containers) await this.discardContainer(run, container);
    if (run.builtImage) await this.discardImage(run, run.builtImage);
    await this.fire(run, 'deploy-failed').catch(() => undefined);
    run.release.failure = run.failure;
    run.release.finishedAt = new Date().toISOString();
    await this.setStatus(run, 'failed').catch(() => undefined);
    const live = run.app.live;
    run.output.error(live ? `Nothing changed: release ${live.release} is still serving ${run.app.name}.` : `Nothing changed: ${run.app.name} has no live release yet.`);
    return { ok: false, release: run.release.id, stage: run.stage, message };
  }

  /** The image this deploy built serves nothing and is no rollback target. */
  private async discardImage(run: DeployRun, image: string): Promise<void> {
    await this.deps.runtime
      .removeImage(image)
      .catch((error: unknown) => run.output.warn(`Could not remove the image ${image}: ${describe(error)}`));
  }

  private async discardContainer(run: DeployRun, container: ContainerHandle): Promise<void> {
    const { runtime } = this.deps;
    try {
      const lines = await runtime.logTail(container.id, LOG_LINES_ON_FAILURE);
      run.output.error(lines.length ? `Last ${lines.length} line(s) from ${container.name}:` : `${container.name} printed nothing.`);
      for (const line of lines) run.output.info(line);
    } catch (error) {
      run.output.warn(`Could not read the output of ${container.name}: ${describe(error)}`);
    }
    await runtime.removeContainer(container.id).catch((error: unknown) => run.output.warn(`Could not remove ${container.name}: ${describe(error)}`));
    run.output.error(`Removed the new container ${container.name}.`);
  }

  /** checks:run: the check-deploy trigger against the live web containers, without deploying anything. */
  async checkLive(app: AppRecord, output: DeployOutput): Promise<void> {
    const { store, options } = this.deps;
    const live = app.live;
    if (!live) throw new BerthError(`${app.name} has no live release to check`, `push ${app.name} first`);
    const tree = new CommitTree(store.repoDir(app.name), live.commit);
    const signal = timeLimit(options.deployTimeoutSeconds, 'checks:run', '--deploy-timeout');
    for (const record of live.containers.filter((c) => c.process === WEB_PROCESS)) {
      output.section(`Checking ${record.name} (release ${live.release})`);
      const container = this.handle(record);
      await fireTrigger(this.deps.plugins, this.context('check-deploy', { app: app.name, release: live.release, commit: live.commit, image: live.image, container, previous: undefined, failure: undefined, tree, output, signal }));
    }
  }

  /** What plugins see of a container: its address, and ways to ask how it is doing. */
  private handle(record: ContainerRecord): ContainerHandle {
    const { runtime } = this.deps;
    return { ...record, health: () => runtime.containerHealth(record.id), listening: () => runtime.listeningSockets(record.id) };
  }

  private async fire(run: DeployRun, trigger: Trigger, container?: ContainerHandle): Promise<void> {
    const previous = run.app.live;
    const context = this.context(trigger, {
      app: run.app.name,
      release: run.release.id,
      commit: run.tree.commit,
      image: run.release.image,
      container: container ?? run.containers.find((c) => c.process === WEB_PROCESS) ?? run.containers[0],
      previous: previous && { release: previous.release, containers: previous.containers.map(({ id, ip, port }) => ({ id, ip, port })) },
      failure: run.failure,
      tree: run.tree,
      output: run.output,
      signal: run.signal,
    });
    await fireTrigger(this.deps.plugins, context);
  }

  private context(
    trigger: Trigger,
    parts: Pick<TriggerContext, 'app' | 'release' | 'commit' | 'image' | 'container' | 'previous' | 'failure' | 'signal'> & { tree: CommitReader; output: DeployOutput },
  ): TriggerContext {
    const { options } = this.deps;
    const { tree, output, ...rest } = parts;
    return {
      trigger,
      ...rest,
      source: tree,
      checks: { listenTimeoutSeconds: options.listenTimeoutSeconds, defaultSettleSeconds: options.defaultCheckSettleSeconds },
      logger: output,
    };
  }
}
