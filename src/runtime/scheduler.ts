import type { SchedulerName } from '../model/scheduler.js';
import type { ContainerRecord } from '../store/store.js';
import type { ListeningSocket } from './listening.js';
import type { ContainerHealth, ContainerSpec, ContainerSummary, ExecResult } from './runtime.js';

/** One process type of a release: `count` containers of it. */
export type ProcessSpec = Omit<ContainerSpec, 'index'> & {
  count: number;
  signal: AbortSignal;
  onLine(line: string): void;
  /** Each container as it runs, so that a start failing half way leaves the ones that started to be removed. */
  onStarted(container: ContainerRecord): void;
};

/**
 * Where an app's long-running containers run and how berth reaches each one: on berth's own
 * engine (LocalScheduler), or as Swarm services over the nodes (SwarmScheduler). The deploy
 * pipeline, retirement, the reconciler, logs and checks ask the app's scheduler, never an engine.
 * A container is named by its record, which says on which node it runs.
 */
export interface Scheduler {
  readonly name: SchedulerName;
  /** Starts the process type's containers beside whatever runs; resolves once every one runs (onStarted has said where each is reached). */
  startProcess(spec: ProcessSpec): Promise<void>;
  /** SIGTERM, then SIGKILL after stopTimeoutSeconds, and removal; each removed one is reported; missing ones are fine. */
  removeContainers(containers: ContainerRecord[], stopTimeoutSeconds: number, onRemoved: (what: string, ms: number) => void): Promise<void>;
  /** Removes every container (swarm: service) of this berth whose app is not one of these: an apps:destroy cut short. Resolves with what went. */
  removeAppsNotIn(apps: string[]): Promise<string[]>;
  /** The app's long-running containers, running or not, with where they are reached. */
  appContainers(app: string): Promise<ContainerSummary[]>;
  containerHealth(container: ContainerRecord): Promise<ContainerHealth>;
  /** What listens inside the container; undefined when berth cannot see it (a container on another host). */
  listeningSockets(container: ContainerRecord): Promise<ListeningSocket[] | undefined>;
  execInContainer(container: ContainerRecord, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<ExecResult>;
  logTail(container: ContainerRecord, lines: number): Promise<string[]>;
  followLogs(container: ContainerRecord, lines: number, onLine: (line: string) => void | Promise<void>, signal: AbortSignal): Promise<void>;
}

/** A listed container as berth records it: reached at its own port (a swarm task's node port), else the app's. */
export function containerRecordOf(container: ContainerSummary, appPort: number): ContainerRecord {
  const { id, name, process, ip, node, service } = container;
  return { id, name, process, ip, port: container.port ?? appPort, ...(service ? { node, service } : {}) };
}

/** The scheduler of each app, by what the app record says. */
export interface Schedulers {
  of(app: { name: string; scheduler?: SchedulerName }): Scheduler;
  /** Where this container runs: a swarm task names its service. */
  ofContainer(container: ContainerRecord): Scheduler;
  /** Every scheduler berth has, for what an app may have left on one it moved from. */
  all(): Scheduler[];
}
