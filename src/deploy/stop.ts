import { WEB_PROCESS } from '../model/app.js';
import { formatDuration } from '../log/output.js';
import { drainContainers } from './retire.js';
import type { DeployRun, PipelineDeps } from './run.js';
import { Stage } from './stages.js';

/**
 * stop-first (deploy:set APP order stop-first): before the new release starts, the edge holds the
 * app's new requests (they wait in nginx, at most --hold-timeout each), the old release drains
 * (requests in flight finish, idle upstream connections close) and its containers stop. They are
 * kept, not removed: should the deploy fail before its switch, they start again.
 */
export class StopPreviousStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<void> {
    const previous = run.app.live;
    if (!previous || run.app.stopped) return;
    const { proxy, runtime, options } = this.deps;
    await run.timed(Stage.Stop, async () => {
      run.output.section(`Stopping ${run.app.name} release ${previous.release} before release ${run.release.id} starts (deploy order stop-first)`);
      await proxy.holdApp(run.app.name, options.holdTimeoutSeconds);
      run.stoppedPrevious = previous;
      run.output.info(`Holding: new requests wait at the edge (at most ${options.holdTimeoutSeconds} s each) until release ${run.release.id} serves`);
      await drainContainers(proxy, previous.containers.filter((c) => c.process === WEB_PROCESS), options.drainTimeoutSeconds, run.output);
      for (const container of previous.containers) {
        const stopStarted = Date.now();
        await runtime.stopContainer(container.id, options.stopTimeoutSeconds);
        run.output.info(`Stopped ${container.name} (${formatDuration(Date.now() - stopStarted)}); it is removed once release ${run.release.id} serves`);
      }
    });
  }
}
