import { BerthError, describe } from '../errors.js';
import type { ContainerHandle } from '../plugins/types.js';
import type { DeployRun, PipelineDeps } from './run.js';
import type { DeployOutcome } from './stages.js';

const LOG_LINES_ON_FAILURE = 20;

/** A failed deploy: the pusher reads where and why, what the deploy made is removed, and its release is recorded failed. */
export class DiscardStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun, error: unknown): Promise<DeployOutcome> {
    const message = describe(error);
    const hint = error instanceof BerthError ? error.hint : undefined;
    run.failure = { stage: run.stage, message };
    run.output.error(`Deploy of ${run.app.name} (release ${run.release.id}) failed at the ${run.stage} stage: ${message}`);
    if (hint) run.output.error(hint);
    for (const container of run.containers) await this.discardContainer(run, container);
    if (run.builtImage) await this.discardImage(run, run.builtImage);
    await run.fire('deploy-failed').catch(() => undefined);
    run.release.failure = run.failure;
    run.release.finishedAt = new Date().toISOString();
    await run.setStatus('failed').catch(() => undefined);
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
}
