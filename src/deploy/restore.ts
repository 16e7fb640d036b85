import { BerthError, describe, timeLimit } from '../errors.js';
import type { ContainerRecord, LiveRelease } from '../store/store.js';
import { routeLiveRelease } from './reconcile.js';
import { releaseFiles } from './release-files.js';
import { checkServedRelease, type DeployRun, type PipelineDeps } from './run.js';

/**
 * stop-first, after a deploy failed before its switch: the release it stopped starts again (its
 * own containers, so its image, config and files), is checked, and the edge routes to it, which
 * releases the requests it held. The pusher reads exactly what happened.
 */
export class RestorePreviousStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<void> {
    const previous = run.stoppedPrevious;
    if (!previous) return;
    // A switch that failed half way may have left the new release routed: then it serves.
    if ((await this.deps.proxy.routedRelease(run.app.name).catch(() => undefined)) === run.release.id) return;
    const { app, output } = run;
    output.section(`Starting ${app.name} release ${previous.release} again (release ${run.release.id} failed; deploy order stop-first)`);
    try {
      const containers = await this.startAgain(run, previous);
      await routeLiveRelease(this.deps, app, containers);
      output.error(`Release ${previous.release} serves ${app.name} again: the requests held at the edge went to it. Release ${run.release.id} never served.`);
    } catch (error) {
      const hint = error instanceof BerthError && error.hint ? ` (${error.hint})` : '';
      output.error(`Release ${previous.release} did not start again: ${describe(error)}${hint}.`);
      // Held, every request would wait out the hold; routed, the watch over live containers starts them and follows them.
      await routeLiveRelease(this.deps, app, previous.containers).catch(() => undefined);
      output.error(`${app.name} is down until its containers run again: berth keeps trying to start them (berth status shows them). Run berth ps:restart ${app.name}, or push a fixed release.`);
    }
  }

  /** Its stopped containers start, at the addresses the engine gives them; their checks run, and a failing one is reported but routed all the same (it is the last release that served). */
  private async startAgain(run: DeployRun, previous: LiveRelease): Promise<ContainerRecord[]> {
    const { runtime, options } = this.deps;
    const containers: ContainerRecord[] = [];
    for (const container of previous.containers) {
      await runtime.restartContainer(container.id);
      const state = await runtime.containerState(container.id);
      if (state.kind !== 'running') throw new BerthError(`${container.name} is ${state.kind} after being started again`, `see berth logs ${run.app.name}`);
      containers.push({ ...container, ip: state.ip || container.ip });
      run.output.info(`Started ${container.name} again at ${state.ip || container.ip}`);
    }
    const restored = { ...previous, containers };
    const signal = timeLimit(options.deployTimeoutSeconds, 'starting the previous release again', '--deploy-timeout');
    await checkServedRelease(this.deps, run.app, restored, releaseFiles(this.deps.store, this.deps.runtime, run.app.name, previous), run.output, signal).catch((error: unknown) => {
      run.output.warn(`Release ${previous.release} failed its checks now: ${describe(error)}; the edge routes to it all the same, as the last release that served`);
    });
    return containers;
  }
}
