import { BerthError, describe, timeLimit } from '../errors.js';
import type { CommitReader } from '../git/tree.js';
import { formatDuration, type DeployOutput } from '../log/output.js';
import type { AppRecord } from '../store/store.js';
import { BuildStep, ImportImageStep, ReuseImageStep } from './build.js';
import { CheckStep } from './check.js';
import { DiscardStep } from './discard.js';
import { PostDeployTaskStep, ReleaseTaskStep } from './release-task.js';
import { releaseFiles } from './release-files.js';
import { RestorePreviousStep } from './restore.js';
import { RetireStep } from './retire.js';
import { checkServedRelease, DeployRun, type PipelineDeps } from './run.js';
import type { DeployOutcome } from './stages.js';
import { StartStep } from './start.js';
import { StopPreviousStep } from './stop.js';
import { SwitchStep, type Switched } from './switch.js';

/**
 * A push builds its commit; everything else (config, scale, restart, rollback) reuses a built
 * image; deploy:image imports an image from the engine (its files: release-files.ts).
 */
export type ReleaseSource = { kind: 'push'; tree: CommitReader } | { kind: 'image'; image: string; tree: CommitReader } | { kind: 'imported'; reference: string; tree: CommitReader };

export interface DeployRequest {
  app: string;
  source: ReleaseSource;
  /** Shown in `berth releases`: "push", "config change: set FOO", "rollback to release 3"... */
  description: string;
  output: DeployOutput;
  /** Fires when whoever asked for the deploy is gone (the git client was interrupted). */
  cancelled?: AbortSignal;
}

/**
 * The one place that orders a deploy: build, release task, start, check, switch, postdeploy
 * task, retire, with the plugin
 * triggers between them. Until the switch nothing live is touched, so any failure before it
 * only has to remove the new containers. stop-first (deploy:set) puts a stop stage after the
 * build: the edge holds the app's requests and the old release stops; a failure before the
 * switch then also starts the old release again.
 */
export class DeployPipeline {
  private readonly steps: {
    build: BuildStep;
    reuseImage: ReuseImageStep;
    releaseTask: ReleaseTaskStep;
    importImage: ImportImageStep;
    stopPrevious: StopPreviousStep;
    start: StartStep;
    check: CheckStep;
    switchTraffic: SwitchStep;
    retire: RetireStep;
    postDeployTask: PostDeployTaskStep;
    discard: DiscardStep;
    restorePrevious: RestorePreviousStep;
  };

  constructor(private readonly deps: PipelineDeps) {
    this.steps = {
      build: new BuildStep(deps),
      reuseImage: new ReuseImageStep(deps),
      releaseTask: new ReleaseTaskStep(deps),
      importImage: new ImportImageStep(deps),
      stopPrevious: new StopPreviousStep(deps),
      start: new StartStep(deps),
      check: new CheckStep(deps),
      switchTraffic: new SwitchStep(deps),
      retire: new RetireStep(deps),
      postDeployTask: new PostDeployTaskStep(deps),
      discard: new DiscardStep(deps),
      restorePrevious: new RestorePreviousStep(deps),
    };
  }

  async deploy(request: DeployRequest): Promise<DeployOutcome> {
    const { store, options } = this.deps;
    const started = Date.now();
    const app = await store.getApp(request.app);
    if (!app) return { ok: false, release: undefined, stage: 'prepare', message: `app ${request.app} does not exist` };
    const release = await store.createRelease(request.app, request.source.tree.commit, request.description);
    const signal = AbortSignal.any([timeLimit(options.deployTimeoutSeconds, 'the deploy', '--deploy-timeout'), ...(request.cancelled ? [request.cancelled] : [])]);
    const run = new DeployRun(this.deps, app, release, request.source.tree, request.output, signal);
    const outcome = await this.release(run, request.source, started);
    await store.saveDeployLog(app.name, release.id, request.output.transcript()).catch(() => undefined);
    await store.pruneDeployLogs(app.name, options.keepDeployLogs).catch(() => undefined);
    return outcome;
  }

  /** Until the switch, any failure removes what the deploy made; after it, nothing undoes the release that serves. */
  private async release(run: DeployRun, source: ReleaseSource, started: number): Promise<DeployOutcome> {
    const { steps } = this;
    let switched: Switched;
    try {
      if (source.kind === 'push') await steps.build.run(run);
      else if (source.kind === 'imported') await steps.importImage.run(run, source.reference);
      else await steps.reuseImage.run(run, source.image);
      // A new image (pushed or imported) runs its release task; a restart, config change, scale or rollback reuses an image whose task already ran.
      if (source.kind !== 'image') await steps.releaseTask.run(run);
      // stop-first: the image is ready (and its release task done) before anything live is touched; from here the app is held at the edge.
      if (run.app.deploy.order === 'stop-first') await steps.stopPrevious.run(run);
      await steps.start.run(run);
      await steps.check.run(run);
      switched = await steps.switchTraffic.run(run);
    } catch (error) {
      const outcome = await steps.discard.run(run, error);
      await steps.restorePrevious.run(run);
      return outcome;
    }
    await this.afterSwitch(run, switched, started, source.kind !== 'image');
    return { ok: true, release: run.release.id, stageMs: run.release.stageMs };
  }

  /** post-deploy, the postdeploy task, retirement and the last record: each problem is reported and the new release stays live. */
  private async afterSwitch(run: DeployRun, switched: Switched, started: number, newImage: boolean): Promise<void> {
    const { app, release, output } = run;
    await run.fire('post-deploy').catch((error: unknown) => output.warn(`post-deploy: ${describe(error)}`));
    if (newImage) await this.steps.postDeployTask.run(run);
    if (switched.recorded) await this.steps.retire.run(run, switched.retiring);
    release.finishedAt = new Date().toISOString();
    await this.deps.store.saveRelease(app.name, release).catch((error: unknown) => output.warn(`Could not record when release ${release.id} finished: ${describe(error)}`));
    const took = formatDuration(Date.now() - started);
    output.section(switched.recorded ? `Done: ${app.name} release ${release.id} deployed in ${took}` : `Done: ${app.name} release ${release.id} serves (in ${took}), but is not recorded live yet: see the warnings above`);
  }

  /** checks:run: the check-deploy trigger against the live web containers, without deploying anything. */
  async checkLive(app: AppRecord, output: DeployOutput): Promise<void> {
    const { store, options } = this.deps;
    const live = app.live;
    if (!live) throw new BerthError(`${app.name} has no live release to check`, `push ${app.name} first`);
    const signal = timeLimit(options.deployTimeoutSeconds, 'checks:run', '--deploy-timeout');
    await checkServedRelease(this.deps, app, live, releaseFiles(store, this.deps.runtime, app.name, live), output, signal);
  }
}
