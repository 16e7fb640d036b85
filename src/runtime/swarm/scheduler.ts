import type Docker from 'dockerode';
import { BerthError } from '../../errors.js';
import { LABEL } from '../../model/naming.js';
import { WEB_PROCESS } from '../../model/app.js';
import type { ContainerRecord } from '../../store/store.js';
import { sleep } from '../../time.js';
import { containerHealth } from '../containers.js';
import { execInContainer } from '../exec.js';
import type { ListeningSocket } from '../listening.js';
import { readLogLines } from '../logs.js';
import type { ContainerHealth, ContainerSummary, ExecResult } from '../runtime.js';
import type { ProcessSpec, Scheduler } from '../scheduler.js';
import { createService, listServices, listTasks, nodeAddresses, removeService, type TaskView } from './services.js';

const TASK_POLL_MS = 250;
/** Swarm restarts a failing task; this many failures of one service's tasks fail the deploy with their reasons. */
const MAX_TASK_FAILURES = 3;

/** The manager berth places services through, and the engine of each node berth was given (nodes:add). */
export interface SwarmEngines {
  readonly manager: Docker;
  engineOf(nodeId: string): Docker | undefined;
}

export interface SwarmSchedulerOptions {
  instance: string;
  /** Makes a local image pullable by every node; resolves with the reference nodes pull (REGISTRY/REPO@sha256:...). */
  distribute(localTag: string, onLine: (line: string) => void): Promise<string>;
  /** How long a service's tasks may take to run everywhere (pulls included). */
  startTimeoutSeconds: number;
  /** SIGTERM-to-SIGKILL grace of a task when its service goes. */
  stopTimeoutSeconds: number;
}

/**
 * Each process type of a release is one replicated Swarm service; Swarm spreads its tasks over
 * the nodes and replaces those a dead node took with it. Every task's container is reached at its
 * node's address and the port the node published for it, so the edge routes straight to it.
 */
export class SwarmScheduler implements Scheduler {
  readonly name = 'swarm';

  /** The last image made pullable: a release's process types share it, so it is pushed once per deploy. */
  private distributed: { tag: string; reference: Promise<string> } | undefined;

  constructor(
    private readonly engines: SwarmEngines,
    private readonly options: SwarmSchedulerOptions,
  ) {}

  async startProcess(spec: ProcessSpec): Promise<void> {
    const image = await this.pullable(spec.image, spec.onLine);
    const web = spec.processType === WEB_PROCESS;
    const { limits, env, command, app, release, processType } = spec;
    const name = await createService(this.engines.manager, { instance: this.options.instance, app, release, processType, image, command, env, limits, port: web ? spec.port : undefined, replicas: spec.count, stopTimeoutSeconds: this.options.stopTimeoutSeconds });
    spec.onLine(`Service ${name}: ${spec.count} task(s), placed by the swarm`);
    const tasks = await this.untilRunning(name, spec.count, web, spec.signal).catch(async (error: unknown) => {
      // Nothing routes to it yet: the service goes with whatever tasks it has.
      await removeService(this.engines.manager, name).catch(() => undefined);
      throw error;
    });
    const nodes = await nodeAddresses(this.engines.manager);
    for (const task of tasks) {
      const record = this.record(task, nodes.get(task.node)?.address ?? '', processType, spec.port);
      spec.onLine(`Container ${record.name} on ${nodes.get(task.node)?.name ?? task.node}${web ? ` at ${record.ip}:${record.port}` : ' (no proxy)'}`);
      spec.onStarted(record);
    }
  }

  private pullable(tag: string, onLine: (line: string) => void): Promise<string> {
    if (this.distributed?.tag !== tag) {
      const reference = this.options.distribute(tag, onLine);
      this.distributed = { tag, reference };
      // A push that failed is tried again by the next deploy.
      reference.catch(() => {
        if (this.distributed?.reference === reference) this.distributed = undefined;
      });
    }
    return this.distributed.reference;
  }

  /** The services of these containers go whole (their tasks get the grace the service was made with, --stop-timeout). */
  async removeContainers(containers: ContainerRecord[], _stopTimeoutSeconds: number, onRemoved: (what: string, ms: number) => void): Promise<void> {
    const services = [...new Set(containers.map((c) => c.service).filter((s): s is string => Boolean(s)))];
    for (const service of services) {
      const started = Date.now();
      await removeService(this.engines.manager, service);
      onRemoved(`the service ${service} (${containers.filter((c) => c.service === service).length} container(s))`, Date.now() - started);
    }
  }

  async removeAppsNotIn(apps: string[]): Promise<string[]> {
    const orphans = (await listServices(this.engines.manager, { [LABEL.instance]: this.options.instance })).filter((s) => !apps.includes(s.labels[LABEL.app] ?? ''));
    for (const service of orphans) await removeService(this.engines.manager, service.name);
    return orphans.map((s) => s.name);
  }

  async appContainers(app: string): Promise<ContainerSummary[]> {
    const labels = { [LABEL.instance]: this.options.instance, [LABEL.app]: app };
    const [tasks, nodes] = await Promise.all([listTasks(this.engines.manager, labels), nodeAddresses(this.engines.manager)]);
    return tasks
      .filter((task) => task.containerId && task.desiredState === 'running')
      .map((task) => ({ ...this.record(task, nodes.get(task.node)?.address ?? '', task.labels[LABEL.process] ?? '', 0), app, release: Number(task.labels[LABEL.release]), state: task.state }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** From the node's own engine when berth has it; otherwise from what the manager says of the task. */
  async containerHealth(container: ContainerRecord): Promise<ContainerHealth> {
    const engine = container.node ? this.engines.engineOf(container.node) : undefined;
    if (engine) return containerHealth(engine, container.id);
    const task = await this.taskOf(container);
    return { running: task?.state === 'running', startedAt: '', restartCount: 0, exitCode: 0, oomKilled: false, error: task?.error ?? '' };
  }

  /** Another host's processes are not berth's to read. */
  async listeningSockets(): Promise<ListeningSocket[] | undefined> {
    return undefined;
  }

  execInContainer(container: ContainerRecord, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<ExecResult> {
    return execInContainer(this.engineFor(container, 'run a command check in it'), container.id, command, options);
  }

  async logTail(container: ContainerRecord, lines: number): Promise<string[]> {
    const tail: string[] = [];
    await readLogLines(this.engineFor(container, 'read its output'), container.id, { tail: lines, follow: false }, (line) => {
      tail.push(line);
    });
    return tail;
  }

  followLogs(container: ContainerRecord, lines: number, onLine: (line: string) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    return readLogLines(this.engineFor(container, 'read its output'), container.id, { tail: lines, follow: true, signal }, onLine);
  }

  private engineFor(container: ContainerRecord, purpose: string): Docker {
    const engine = container.node ? this.engines.engineOf(container.node) : undefined;
    if (!engine) throw new BerthError(`berth cannot reach the engine of the node ${container.name} runs on, to ${purpose}`, 'berth nodes:add that node\'s engine (berth nodes:list shows which nodes berth has no engine for)');
    return engine;
  }

  private record(task: TaskView, address: string, process: string, port: number): ContainerRecord {
    return { id: task.containerId ?? task.id, name: `${task.service}.${task.slot}`, process, ip: address, port: task.publishedPort ?? port, node: task.node, service: task.service };
  }

  private async taskOf(container: ContainerRecord): Promise<TaskView | undefined> {
    const tasks = await listTasks(this.engines.manager, { [LABEL.instance]: this.options.instance }, container.service);
    return tasks.find((task) => task.containerId === container.id);
  }

  /** Every task running (and published, for web); a task that keeps failing fails the start with the engine's reasons. */
  private async untilRunning(service: string, count: number, published: boolean, signal: AbortSignal): Promise<TaskView[]> {
    const deadline = Date.now() + this.options.startTimeoutSeconds * 1000;
    const labels = { [LABEL.instance]: this.options.instance };
    for (;;) {
      signal.throwIfAborted();
      const tasks = await listTasks(this.engines.manager, labels, service);
      const running = tasks.filter((t) => t.desiredState === 'running' && t.state === 'running' && t.containerId && (!published || t.publishedPort));
      if (running.length >= count) return running.sort((a, b) => a.slot - b.slot).slice(0, count);
      const failed = tasks.filter((t) => t.state === 'failed' || t.state === 'rejected');
      if (failed.length >= MAX_TASK_FAILURES) throw taskFailure(service, failed);
      if (Date.now() > deadline) throw new BerthError(`the swarm did not run ${count} task(s) of ${service} within ${this.options.startTimeoutSeconds} s (${running.length} run; ${tasks.map((t) => t.state).join(', ')})`, 'see berth nodes:list: a node may be down or drained, or lack the memory or CPU the app asks for');
      await sleep(TASK_POLL_MS);
    }
  }

}

function taskFailure(service: string, failed: TaskView[]): BerthError {
  const reasons = [...new Set(failed.map((t) => t.error ?? t.state))].slice(0, 3).join('; ');
  return new BerthError(`the tasks of ${service} keep failing on the swarm: ${reasons}`, 'the last lines the containers printed are above, when berth could read them; fix the app (or its image) and push again');
}
