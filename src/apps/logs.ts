import { checkLogLines } from '../model/app.js';
import type { ContainerRecord } from '../store/store.js';
import type { AppOperator } from './operator.js';

/** What the live containers print. */
export class LogsService {
  constructor(private readonly operator: AppOperator) {}

  /**
   * The last `lines` lines of each live container, each prefixed with the container's name;
   * with `follow`, every new line too, until the containers stop or the signal fires. While the
   * promise onLine returns is pending (the client is behind), the containers' output waits.
   */
  async stream(name: string, lines: number, follow: boolean, onLine: (line: string) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    checkLogLines(lines);
    const app = await this.operator.get(name);
    const containers = app.live?.containers ?? [];
    const { runtime } = this.operator.deps;
    const prefixed = (container: ContainerRecord) => (line: string) => onLine(`${container.name}| ${line}`);
    if (follow) {
      await Promise.all(containers.map((container) => runtime.followLogs(container.id, lines, prefixed(container), signal)));
      return;
    }
    for (const container of containers) {
      for (const line of await runtime.logTail(container.id, lines)) await prefixed(container)(line);
    }
  }
}
