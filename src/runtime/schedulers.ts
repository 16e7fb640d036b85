import { BerthError } from '../errors.js';
import type { SchedulerName } from '../model/scheduler.js';
import { LocalScheduler } from './local-scheduler.js';
import type { ContainerRecord } from '../store/store.js';
import type { ContainerSummary, Runtime } from './runtime.js';
import type { Scheduler, Schedulers } from './scheduler.js';

/** The local engine for every app, and the swarm for the apps scheduler:set put there, once berth has one. */
export class AppSchedulers implements Schedulers {
  private readonly local: LocalScheduler;

  /** `swarmInUse`: whether berth has a swarm any app can have run on, so that a berth without one never asks it. */
  constructor(
    runtime: Runtime,
    private readonly swarm: Scheduler,
    private readonly swarmInUse: () => boolean,
  ) {
    this.local = new LocalScheduler(runtime);
  }

  of(app: { name: string; scheduler?: SchedulerName }): Scheduler {
    if ((app.scheduler ?? 'local') === 'local') return this.local;
    return this.usableSwarm(`${app.name} runs on the swarm`, `, or move the app back: berth scheduler:set ${app.name} local`);
  }

  ofContainer(container: ContainerRecord): Scheduler {
    return container.service ? this.usableSwarm(`${container.name} is a swarm task`, '') : this.local;
  }

  all(): Scheduler[] {
    return this.swarmInUse() ? [this.local, this.swarm] : [this.local];
  }

  private usableSwarm(what: string, orElse: string): Scheduler {
    if (!this.swarmInUse()) throw new BerthError(`${what}, but this berth has no swarm`, `start berth with --swarm-engine URL (the engine that manages the swarm)${orElse}`);
    return this.swarm;
  }
}

/** What the deploy and the app operations pass around; a Runtime alone schedules locally (the unit tests' fakes). */
export function schedulerOf(deps: { runtime: Runtime; schedulers?: Schedulers }, app: { name: string; scheduler?: SchedulerName }): Scheduler {
  return deps.schedulers ? deps.schedulers.of(app) : new LocalScheduler(deps.runtime);
}

export function schedulerOfContainer(deps: { runtime: Runtime; schedulers?: Schedulers }, container: ContainerRecord): Scheduler {
  return deps.schedulers ? deps.schedulers.ofContainer(container) : new LocalScheduler(deps.runtime);
}

/** The containers by the scheduler they run on (an app moved by scheduler:set has some on each until its old release retires). */
export function byScheduler(deps: { runtime: Runtime; schedulers?: Schedulers }, containers: ContainerRecord[]): Array<[Scheduler, ContainerRecord[]]> {
  const groups = new Map<Scheduler, ContainerRecord[]>();
  for (const container of containers) {
    const scheduler = schedulerOfContainer(deps, container);
    groups.set(scheduler, [...(groups.get(scheduler) ?? []), container]);
  }
  return [...groups];
}

export function allSchedulers(deps: { runtime: Runtime; schedulers?: Schedulers }): Scheduler[] {
  return deps.schedulers ? deps.schedulers.all() : [new LocalScheduler(deps.runtime)];
}

/**
 * The app's long-running containers on every scheduler: its own, and one it moved from. Only its
 * own scheduler's failure to answer fails this; the other one's (a swarm unreachable) leaves those out.
 */
export async function everyAppContainer(deps: { runtime: Runtime; schedulers?: Schedulers }, app: { name: string; scheduler?: SchedulerName }): Promise<ContainerSummary[]> {
  const own = schedulerOf(deps, app);
  const others = deps.schedulers ? deps.schedulers.all().filter((s) => s !== own) : [];
  const found = await Promise.all([own.appContainers(app.name), ...others.map((s) => s.appContainers(app.name).catch(() => []))]);
  return found.flat();
}
