/**
 * Where an app's containers run, for the server, the CLI and the tests: `local` on berth's own
 * Docker engine, `swarm` as Docker Swarm services spread over the nodes berth nodes:add joined.
 */
import { InputError } from '../errors.js';

export const SCHEDULERS = ['local', 'swarm'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

export function isScheduler(value: string): value is SchedulerName {
  return (SCHEDULERS as readonly string[]).includes(value);
}

export function checkScheduler(value: string): SchedulerName {
  if (!isScheduler(value)) throw new InputError(`"${value}" is not a scheduler (${SCHEDULERS.join(' or ')})`, 'local runs the app on berth\'s own engine; swarm runs it as services over the nodes of berth nodes:list');
  return value;
}
