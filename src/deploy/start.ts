import { BerthError } from '../errors.js';
import { readProcfile } from '../build/procfile.js';
import { appPort, WEB_PROCESS } from '../model/app.js';
import { containerLimits } from '../model/resources.js';
import { mountsFor } from '../model/storage.js';
import { containerHandle, type DeployRun, type PipelineDeps } from './run.js';
import { Stage } from './stages.js';

/** One container per unit of the app's formation, beside what runs; `web` runs the image's command unless the Procfile names one. */
export class StartStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<void> {
    await run.setStatus('starting');
    await run.timed(Stage.Start, async () => {
      const procfile = await readProcfile(run.tree);
      const formation = Object.entries(run.app.formation).filter(([, count]) => count > 0);
      for (const [type] of formation) {
        if (type !== WEB_PROCESS && !procfile[type]) throw new BerthError(`the app is scaled to run "${type}" but its Procfile has no ${type} line`, `add "${type}: COMMAND" to the Procfile, or berth ps:scale ${run.app.name} ${type}=0`);
      }
      for (const [type, count] of formation) await this.startProcess(run, type, count, procfile[type]);
      for (const container of run.containers) await run.fire('pre-deploy', container);
    });
  }

  private async startProcess(run: DeployRun, type: string, count: number, command: string | undefined): Promise<void> {
    const { scheduler } = run;
    run.output.section(`Starting ${run.app.name} ${type}${count > 1 ? ` x${count}` : ''} (release ${run.release.id}${scheduler.name === 'swarm' ? ', on the swarm' : ''})`);
    await scheduler.startProcess({
      app: run.app.name,
      release: run.release.id,
      image: run.release.image!,
      processType: type,
      count,
      command,
      port: appPort(run.app.config),
      env: run.app.config,
      limits: containerLimits(run.app.resources, type),
      mounts: mountsFor(run.app, type, this.deps.options.dataDir),
      signal: run.signal,
      onLine: (line) => run.output.info(line),
      onStarted: (record) => {
        run.containers.push(containerHandle(scheduler, record));
        if (scheduler.name === 'local') run.output.info(type === WEB_PROCESS ? `Container ${record.name} at ${record.ip}:${record.port}` : `Container ${record.name} (no proxy)`);
      },
    });
  }
}
