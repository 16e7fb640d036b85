import { BerthError, ConflictError } from '../errors.js';
import type { DeployOutput } from '../log/output.js';
import type { NewRelease, SchedulerReport } from '../model/api.js';
import { checkScheduler, type SchedulerName } from '../model/scheduler.js';
import type { AppRecord } from '../store/store.js';
import type { AppOperator } from './operator.js';

/**
 * scheduler:set and scheduler:report: where the app's containers run. Moving a live app is a
 * release like any other: its live image starts where it goes, is checked, takes the traffic,
 * and the containers where it ran drain and go; when that release fails, nothing moved.
 */
export class SchedulerService {
  constructor(private readonly operator: AppOperator) {}

  async report(name: string): Promise<SchedulerReport> {
    const app = await this.operator.get(name);
    return { scheduler: app.scheduler, swarm: await this.hasNodes() };
  }

  async set(name: string, value: string, output: DeployOutput): Promise<SchedulerReport & { release: NewRelease }> {
    const scheduler = checkScheduler(value);
    return this.operator.withApp(name, `scheduler:set ${scheduler}`, output, async (before) => {
      if (before.scheduler === scheduler) {
        output.info(`${name} already runs on the ${scheduler} scheduler`);
        return { scheduler, swarm: await this.hasNodes(), release: null };
      }
      if (scheduler === 'swarm') await this.checkMovable(before);
      const app = await this.operator.deps.store.updateApp(name, (record) => (record.scheduler = scheduler));
      output.section(`${name} runs on the ${scheduler} scheduler from now on`);
      try {
        return { scheduler, swarm: true, release: await this.operator.applyStored(app, `scheduler:set ${scheduler}`, output) };
      } catch (error) {
        await this.operator.deps.store.updateApp(name, (record) => (record.scheduler = before.scheduler));
        if (error instanceof BerthError) throw new BerthError(error.message, `${error.hint ?? 'the previous release is still serving'}; ${name} stays on the ${before.scheduler} scheduler`);
        throw error;
      }
    });
  }

  /** Whether the swarm has a node that takes tasks; a manager that does not answer has none. */
  private async hasNodes(): Promise<boolean> {
    const nodes = await this.operator.deps.cluster?.nodes().catch(() => []);
    return (nodes ?? []).some((node) => node.state === 'ready' && node.availability === 'active');
  }

  /** What a swarm app cannot have yet, refused before anything changes. */
  private async checkMovable(app: AppRecord): Promise<void> {
    const target: SchedulerName = 'swarm';
    if (!(await this.hasNodes())) throw new ConflictError(`this berth's swarm has no ready node to run ${app.name} on`, 'berth nodes:add ENGINE for each host (berth nodes:list shows them; the manager is berth serve --swarm-engine URL)');
    if (app.storage.length) throw new ConflictError(`${app.name} mounts storage, which lives on this host: the ${target} scheduler cannot mount it on other nodes`, `berth storage:unmount ${app.name} each mount first (berth storage:list ${app.name}), or keep it on the local scheduler`);
    if (app.deploy.order === 'stop-first') throw new ConflictError(`${app.name} deploys stop-first, which the ${target} scheduler does not do`, `berth deploy:set ${app.name} order start-first first`);
  }
}
