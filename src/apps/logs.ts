import { NotFoundError } from '../errors.js';
import type { LogsQuery } from '../model/api.js';
import { checkLogLines } from '../model/app.js';
import { OneOffLogs } from '../store/one-off-logs.js';
import type { ContainerRecord } from '../store/store.js';
import { schedulerOfContainer } from '../runtime/schedulers.js';
import type { AppOperator } from './operator.js';

type OnLine = (line: string) => void | Promise<void>;

/** What the live containers print, and what one-off containers printed. */
export class LogsService {
  constructor(private readonly operator: AppOperator) {}

  /**
   * The last `lines` lines of each live container, each prefixed with the container's name;
   * with `follow`, every new line too, until the containers stop or the signal fires. While the
   * promise onLine returns is pending (the client is behind), the containers' output waits.
   * With `run` or `cron`, what that one-off container printed instead (kept after it is removed).
   */
  async stream(name: string, query: LogsQuery, onLine: OnLine, signal: AbortSignal): Promise<void> {
    checkLogLines(query.lines);
    const app = await this.operator.get(name);
    if (query.run !== undefined) return this.oneOff(name, 'run', query.run, query.lines, onLine);
    if (query.cron !== undefined) return this.cronRuns(name, query.cron, query.lines, onLine);
    const containers = app.live?.containers ?? [];
    const on = (container: ContainerRecord) => schedulerOfContainer(this.operator.deps, container);
    const prefixed = (container: ContainerRecord) => (line: string) => onLine(`${container.name}| ${line}`);
    if (query.follow) {
      await Promise.all(containers.map((container) => on(container).followLogs(container, query.lines, prefixed(container), signal)));
      return;
    }
    for (const container of containers) {
      for (const line of await on(container).logTail(container, query.lines)) await prefixed(container)(line);
    }
  }

  private async oneOff(app: string, group: string, name: string, lines: number, onLine: OnLine): Promise<void> {
    const text = await this.logs().read(app, group, name);
    if (text === undefined) throw new NotFoundError(`${app} has no one-off output named ${name}`, `berth run ${app} --detach printed the name; berth keeps the output of the last runs only`);
    for (const line of lastLines(text, lines)) await onLine(line);
  }

  /** Each of the job's kept runs, oldest first, under a line that names the container. */
  private async cronRuns(app: string, id: string, lines: number, onLine: OnLine): Promise<void> {
    const runs = await this.logs().list(app, `cron-${id}`);
    if (runs.length === 0) throw new NotFoundError(`${app} has no output of a cron job ${id}`, `berth cron:list ${app} shows the jobs, and whether each has run yet`);
    for (const run of runs) {
      await onLine(`=== ${run}`);
      for (const line of lastLines((await this.logs().read(app, `cron-${id}`, run)) ?? '', lines)) await onLine(line);
    }
  }

  private logs(): OneOffLogs {
    return new OneOffLogs(this.operator.deps.options.dataDir);
  }
}

function lastLines(text: string, count: number): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-count);
}
