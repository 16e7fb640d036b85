import { ConflictError } from '../errors.js';
import { checkFormation } from '../model/app.js';
import type { NewRelease } from '../model/api.js';
import type { DeployOutput } from '../log/output.js';
import type { AppOperator } from './operator.js';

/** The app's containers: how many of each process type, and whether they run. */
export class ProcessesService {
  constructor(private readonly operator: AppOperator) {}

  async scale(name: string, formation: Record<string, number>, output: DeployOutput): Promise<{ formation: Record<string, number>; release: NewRelease }> {
    await this.operator.get(name);
    checkFormation(name, formation);
    const requested = formationSummary(formation);
    return this.operator.withApp(name, `scale to ${requested}`, output, async () => {
      const app = await this.operator.deps.store.updateApp(name, (record) => Object.assign(record.formation, formation));
      const summary = formationSummary(app.formation);
      output.section(`Scaling ${name} to ${summary}`);
      if (!app.live || app.stopped) return { formation: app.formation, release: null };
      return { formation: app.formation, release: await this.operator.redeployHeld(app, `scale to ${summary}`, output) };
    });
  }

  async restart(name: string, output: DeployOutput): Promise<{ release: NewRelease }> {
    return { release: await this.operator.redeploy(name, 'restart', output) };
  }

  /**
   * Stops the containers; nginx keeps its config, so the app answers 502 until ps:start. The live
   * release is read under the app's lock: a deploy in progress is waited for, then its release stops.
   */
  async stop(name: string, output: DeployOutput): Promise<{ release: NewRelease }> {
    const { runtime, store, options } = this.operator.deps;
    return this.operator.withApp(name, 'stop', output, async (app) => {
      const live = app.live;
      if (!live) throw new ConflictError(`${name} has not been deployed yet: nothing to stop`, 'push it first: git push deploy main');
      if (app.scheduler === 'swarm') throw new ConflictError(`ps:stop does not stop a swarm app yet: Swarm would start its tasks again`, `berth scheduler:set ${name} local first, or berth apps:destroy ${name}`);
      for (const container of live.containers) {
        output.info(`Stopping ${container.name}`);
        await runtime.stopContainer(container.id, options.stopTimeoutSeconds);
      }
      await store.updateApp(name, (record) => (record.stopped = true));
      output.section(`${name} is stopped; berth ps:start ${name} starts it again`);
      return { release: null };
    });
  }

  async start(name: string, output: DeployOutput): Promise<{ release: NewRelease }> {
    return this.operator.withApp(name, 'start', output, async (app) => {
      if (app.live && !app.stopped) {
        output.info(`${name} is already running (release ${app.live.release})`);
        return { release: null };
      }
      return { release: await this.operator.redeployHeld(app, 'start', output) };
    });
  }
}

/** `web=2 worker=1`, as ps:scale takes it. */
function formationSummary(formation: Record<string, number>): string {
  return Object.entries(formation)
    .map(([type, count]) => `${type}=${count}`)
    .join(' ');
}
