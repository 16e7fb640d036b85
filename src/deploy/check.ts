import type { DeployRun, PipelineDeps } from './run.js';
import { Stage } from './stages.js';

/** The check-deploy trigger (the built-in CHECKS plugin) against every new container, unless the app's checks are off. */
export class CheckStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<void> {
    await run.setStatus('checking');
    await run.timed(Stage.Check, async () => {
      run.output.section(`Checking ${run.app.name} (release ${run.release.id})`);
      if (run.app.checks === 'disabled') {
        run.output.warn(`Checks are disabled for ${run.app.name}: the new release goes live unchecked (berth checks:enable ${run.app.name})`);
        return;
      }
      if (run.app.checks === 'skip-next') {
        run.output.warn(`Checks skipped for this deploy only (berth checks:skip ${run.app.name})`);
        // checks:disable or :enable given meanwhile (they do not wait for the deploy) stays as given.
        await this.deps.store.updateApp(run.app.name, (record) => (record.checks = record.checks === 'skip-next' ? 'enabled' : record.checks));
        return;
      }
      for (const container of run.containers) await run.fire('check-deploy', container);
    });
  }
}
