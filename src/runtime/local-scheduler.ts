import type { ContainerRecord } from '../store/store.js';
import type { ListeningSocket } from './listening.js';
import type { ContainerHealth, ContainerSummary, ExecResult, Runtime } from './runtime.js';
import type { ProcessSpec, Scheduler } from './scheduler.js';

/** Every container on berth's own engine, each on its app's network. */
export class LocalScheduler implements Scheduler {
  readonly name = 'local';

  constructor(private readonly runtime: Runtime) {}

  async startProcess(spec: ProcessSpec): Promise<void> {
    const { count, signal: _signal, onLine: _onLine, onStarted, ...container } = spec;
    for (let index = 1; index <= count; index++) onStarted(await this.runtime.startContainer({ ...container, index }));
  }

  async removeContainers(containers: ContainerRecord[], stopTimeoutSeconds: number, onRemoved: (what: string, ms: number) => void): Promise<void> {
    for (const container of containers) {
      const started = Date.now();
      await this.runtime.stopContainer(container.id, stopTimeoutSeconds);
      await this.runtime.removeContainer(container.id);
      onRemoved(container.name, Date.now() - started);
    }
  }

  async removeAppsNotIn(apps: string[]): Promise<string[]> {
    const orphans = (await this.runtime.instanceContainers()).filter((c) => !apps.includes(c.app));
    for (const container of orphans) await this.runtime.removeContainer(container.id);
    return orphans.map((c) => c.name);
  }

  appContainers(app: string): Promise<ContainerSummary[]> {
    return this.runtime.appContainers(app);
  }

  containerHealth(container: ContainerRecord): Promise<ContainerHealth> {
    return this.runtime.containerHealth(container.id);
  }

  listeningSockets(container: ContainerRecord): Promise<ListeningSocket[] | undefined> {
    return this.runtime.listeningSockets(container.id);
  }

  execInContainer(container: ContainerRecord, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<ExecResult> {
    return this.runtime.execInContainer(container.id, command, options);
  }

  logTail(container: ContainerRecord, lines: number): Promise<string[]> {
    return this.runtime.logTail(container.id, lines);
  }

  followLogs(container: ContainerRecord, lines: number, onLine: (line: string) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    return this.runtime.followLogs(container.id, lines, onLine, signal);
  }
}
