import type { CronJobInfo, RunResult } from '../model/api.js';
import type { DeployOutput } from '../log/output.js';
import { runResult } from './run.js';
import type { AppOperator } from './operator.js';

/** The app's scheduled jobs: app.json's cron entries of its live release. */
export class CronService {
  constructor(private readonly operator: AppOperator) {}

  async list(name: string): Promise<CronJobInfo[]> {
    const app = await this.operator.get(name);
    const jobs = await this.operator.deps.cron.list(app);
    return jobs.map(({ id, schedule, command, nextRunAt, running, last, skipped, lastSkippedAt, missed, lastMissedAt }) => ({ id, schedule, command, nextRunAt, running, last, skipped, lastSkippedAt, missed, lastMissedAt }));
  }

  /** cron:run: the job now, its output streamed as berth run's is; the client going away kills it. */
  async run(name: string, id: string, output: DeployOutput, cancelled: AbortSignal): Promise<RunResult> {
    const app = await this.operator.get(name);
    const send = (line: string) => {
      output.raw(line);
      return output.ready();
    };
    return runResult(await this.operator.deps.cron.runNow(app, id, send, cancelled));
  }
}
