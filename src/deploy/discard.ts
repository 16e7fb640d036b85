import { BerthError, describe, timeLimit } from '../errors.js';
import type { ContainerHandle } from '../plugins/types.js';
import type { DeployRun, PipelineDeps } from './run.js';
import { Stage, type DeployOutcome } from './stages.js';

const LOG_LINES_ON_FAILURE = 20;
/** deploy-failed runs when the deploy's own time may be up (that may be why it failed), so it gets a bound of its own. */
const FAILURE_HOOKS_SECONDS = 60;

/** A failed deploy: the pusher reads where and why, what the deploy made is removed, and its release is recorded failed. */
export class DiscardStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun, error: unknown): Promise<DeployOutcome> {
    const message = describe(error);
    const hint = error instanceof BerthError ? error.hint : undefined;
    run.failure = { stage: run.stage, message };
    run.output.error(`Deploy of ${run.app.name} (release ${run.release.id}) failed at the ${run.stage} stage: ${message}`);
    if (hint) run.output.error(hint);
    if (await this.stillRouted(run)) return this.keepRouted(run, message);
    for (const container of run.containers) await this.showOutput(run, container);
    await this.discardContainers(run);
    if (run.builtImage) await this.discardImage(run, run.builtImage);
    await run.fire('deploy-failed', undefined, timeLimit(FAILURE_HOOKS_SECONDS, 'the deploy-failed hooks')).catch(() => undefined);
    run.release.failure = run.failure;
    run.release.finishedAt = new Date().toISOString();
    await run.setStatus('failed').catch(() => undefined);
    const live = run.app.live;
    // stop-first stopped the live release: what happens to it next is RestorePreviousStep's to say.
    if (!run.stoppedPrevious) run.output.error(live ? `Nothing changed: release ${live.release} is still serving ${run.app.name}.` : `Nothing changed: ${run.app.name} has no live release yet.`);
    return { ok: false, release: run.release.id, stage: run.stage, message };
  }

  /** A switch that failed half way (nginx could not even be put back) may leave the new release routed. */
  private async stillRouted(run: DeployRun): Promise<boolean> {
    if (run.stage !== Stage.Switch) return false;
    const routed = await this.deps.proxy.routedRelease(run.app.name).catch(() => undefined);
    return routed === run.release.id;
  }

  /** Containers nginx sends requests to are never removed, whatever failed. */
  private async keepRouted(run: DeployRun, message: string): Promise<DeployOutcome> {
    run.output.error(`nginx still routes ${run.app.name} to release ${run.release.id}, so its containers keep running; berth records it when it starts again.`);
    await run.setStatus('switching').catch(() => undefined);
    return { ok: false, release: run.release.id, stage: run.stage, message };
  }

  /** The image this deploy built serves nothing and is no rollback target. */
  private async discardImage(run: DeployRun, image: string): Promise<void> {
    await this.deps.runtime
      .removeImage(image)
      .catch((error: unknown) => run.output.warn(`Could not remove the image ${image}: ${describe(error)}`));
  }

  private async showOutput(run: DeployRun, container: ContainerHandle): Promise<void> {
    try {
      const lines = await run.scheduler.logTail(container, LOG_LINES_ON_FAILURE);
      run.output.error(lines.length ? `Last ${lines.length} line(s) from ${container.name}:` : `${container.name} printed nothing.`);
      for (const line of lines) run.output.info(line);
    } catch (error) {
      run.output.warn(`Could not read the output of ${container.name}: ${describe(error)}`);
    }
  }

  /** Read first, removed after: a swarm service goes whole, with every container of it. */
  private async discardContainers(run: DeployRun): Promise<void> {
    if (run.containers.length === 0) return;
    try {
      await run.scheduler.removeContainers(run.containers, 0, (what) => run.output.error(`Removed the new ${run.scheduler.name === 'local' ? 'container ' : ''}${what}.`));
    } catch (error) {
      run.output.warn(`Could not remove the new containers (${run.containers.map((c) => c.name).join(', ')}): ${describe(error)}`);
    }
  }
}
