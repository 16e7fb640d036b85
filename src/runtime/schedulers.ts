import { BerthError } from '../errors.js';
import type { SchedulerName } from '../model/scheduler.js';
import { LocalScheduler } from './local-scheduler.js';
import type { Runtime } from './runtime.js';
import type { Scheduler, Schedulers } from './scheduler.js';

/** The local engine for every app, and the swarm for the apps scheduler:set put there, once berth has one. */
export class AppSchedulers implements Schedulers {
  private readonly local: LocalScheduler;

  constructor(
    runtime: Runtime,
    private readonly swarm: Scheduler | undefined,
  ) {
    this.local = new LocalScheduler(runtime);
  }

  of(app: { name: string; scheduler?: SchedulerName }): Scheduler {
    if ((app.scheduler ?? 'local') === 'local') return this.local;
    if (!this.swarm) throw new BerthError(`${app.name} runs on the swarm, but this berth has no swarm`, 'start berth with --swarm-engine URL (the engine that manages the swarm), or move the app back: berth scheduler:set ' + app.name + ' local');
    return this.swarm;
  }
}

/** What the deploy and the app operations pass around; a Runtime alone schedules locally (the unit tests' fakes). */
export function schedulerOf(deps: { runtime: Runtime; schedulers?: Schedulers }, app: { name: string; scheduler?: SchedulerName }): Scheduler {
  return deps.schedulers ? deps.schedulers.of(app) : new LocalScheduler(deps.runtime);
}
