import { BerthError, timeLimit } from '../errors.js';
import { CommitTree, type CommitReader } from '../git/tree.js';
import { formatDuration, type DeployOutput } from '../log/output.js';
import { fireTrigger } from '../plugins/triggers.js';
import { WEB_PROCESS } from '../model/app.js';
import type { AppRecord } from '../store/store.js';
import { BuildStep, ReuseImageStep } from './build.js';
import { CheckStep } from './check.js';
import { DiscardStep } from './discard.js';
import { RetireStep } from './retire.js';
import { containerHandle, DeployRun, triggerContext, type PipelineDeps } from './run.js';
import type { DeployOutcome } from './stages.js';
import { StartStep } from './start.js';
import { SwitchStep } from './switch.js';

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

/**
 * The one place that orders a deploy: build, start, check, switch, retire, with the plugin
 * triggers between them. Until the switch nothing live is touched, so any failure before it
 * only has to remove the new containers.
 */
export class DeployPipeline {
  private readonly steps: {
    build: BuildStep;
    reuseImage: ReuseImageStep;
    start: StartStep;
    check: CheckStep;
    switchTraffic: SwitchStep;
    retire: RetireStep;
    discard: DiscardStep;
  };

  constructor(private readonly deps: PipelineDeps) {
    this.steps = {
      build: new BuildStep(deps),
      reuseImage: new ReuseImageStep(deps),
      start: new StartStep(deps),
      check: new CheckStep(deps),
      switchTraffic: new SwitchStep(deps),
      retire: new RetireStep(deps),
      discard: new DiscardStep(deps),
    };
  }

  async deploy(request: DeployRequest): Promise<DeployOutcome> {
    const { store, options } = this.deps;
    const { steps } = this;
    const started = Date.now();
    const app = await store.getApp(request.app);
    if (!app) return { ok: false, release: undefined, stage: 'prepare', message: `app ${request.app} does not exist` };
    const release = await store.createRelease(request.app, request.source.tree.commit, request.description);
    const signal = AbortSignal.any([timeLimit(options.deployTimeoutSeconds, 'the deploy', '--deploy-timeout'), ...(request.cancelled ? [request.cancelled] : [])]);
    const run = new DeployRun(this.deps, app, release, request.source.tree, request.output, signal);
    let outcome: DeployOutcome;
    try {
      if (request.source.kind === 'push') await steps.build.run(run);
      else await steps.reuseImage.run(run, request.source.image);
      await steps.start.run(run);
      await steps.check.run(run);
      const retiring = await steps.switchTraffic.run(run);
      await run.fire('post-deploy');
      await steps.retire.run(run, retiring);
      run.release.finishedAt = new Date().toISOString();
      await store.saveRelease(app.name, run.release);
      run.output.section(`Done: ${app.name} release ${release.id} deployed in ${formatDuration(Date.now() - started)}`);
      outcome = { ok: true, release: release.id, stageMs: release.stageMs };
    } catch (error) {
      outcome = await steps.discard.run(run, error);
    }
    await store.saveDeployLog(app.name, release.id, request.output.transcript()).catch(() => undefined);
    await store.pruneDeployLogs(app.name, options.keepDeployLogs).catch(() => undefined);
    return outcome;
  }

  /** checks:run: the check-deploy trigger against the live web containers, without deploying anything. */
  async checkLive(app: AppRecord, output: DeployOutput): Promise<void> {
    const { store, options, runtime } = this.deps;
    const live = app.live;
    if (!live) throw new BerthError(`${app.name} has no live release to check`, `push ${app.name} first`);
    const tree = new CommitTree(store.repoDir(app.name), live.commit);
    const signal = timeLimit(options.deployTimeoutSeconds, 'checks:run', '--deploy-timeout');
    for (const record of live.containers.filter((c) => c.process === WEB_PROCESS)) {
      output.section(`Checking ${record.name} (release ${live.release})`);
      const container = containerHandle(runtime, record);
      await fireTrigger(this.deps.plugins, triggerContext(options, 'check-deploy', { app: app.name, release: live.release, commit: live.commit, image: live.image, container, previous: undefined, failure: undefined, tree, output, signal }));
    }
  }
}
