/**
 * What each container of an app may use: memory, CPU and processes, set with resource:limit for
 * the whole app or one process type. The CLI reads the operator's text with these rules and the
 * server checks the numbers again with them, so both refuse the same input with the same words.
 */
import { InputError } from '../errors.js';
import { isValidProcessType, PROCESS_TYPE_RULE } from './app.js';

/** One scope's limits (the whole app, or one process type); a missing value is no limit of its own. */
export interface ResourceLimits {
  /** Bytes of memory; past it the kernel kills a process of the container. */
  memory?: number;
  /** CPUs' worth of time per second, 0.5 or 2. */
  cpus?: number;
  /** Processes and threads alive at once in the container. */
  pids?: number;
}

/** What resource:limit stored for an app: its own limits, and per process type those that override them. */
export interface AppResources {
  app: ResourceLimits;
  processes: Record<string, ResourceLimits>;
}

/** What the containers of one process type get: every container has a pids limit, whatever was set. */
export type ContainerLimits = ResourceLimits & { pids: number };

/**
 * A fork bomb stops here instead of filling the host's process table: enough for Node's threads
 * and a few hundred children (Heroku's dynos allow 256 to 512), raised per app with --pids.
 */
export const DEFAULT_PIDS_LIMIT = 1024;
/** The Docker engine refuses a smaller memory limit. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** Linux's PID_MAX_LIMIT: no container can hold more. */
export const MAX_PIDS = 4 * 1024 * 1024;
/** The engine takes CPU limits in steps of a hundredth of a CPU. */
export const MIN_CPUS = 0.01;

export function emptyResources(): AppResources {
  return { app: {}, processes: {} };
}

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const SIZE = /^(\d+(?:\.\d+)?) ?([kmgt])?(i?b)?$/i;
const SIZE_RULE = 'a number and a unit, like 512m or 1.5g (b, k, m, g or t; 1k is 1024 bytes)';

/** `512m`, `1.5g`, `64mb`, `1GiB`: the units Docker takes, always binary; a bare number is refused, since Docker would read it as bytes. */
export function parseMemory(text: string): number {
  const match = SIZE.exec(text.trim());
  if (!match || (!match[2] && !match[3])) {
    const bare = /^\d+$/.test(text.trim());
    throw new InputError(`memory "${text}" is not a size: give ${SIZE_RULE}`, bare ? `${text} alone would be bytes; for megabytes write ${text}m` : undefined);
  }
  const unit = (match[2] ?? 'b').toLowerCase();
  return checkMemory(Math.round(Number(match[1]) * UNITS[unit]));
}

const CPUS = /^(\d+(?:\.\d{1,2})?|\.\d{1,2})$/;

/** `1`, `0.5`, `2.25`: CPUs' worth of time, in hundredths at most. */
export function parseCpus(text: string): number {
  if (!CPUS.test(text.trim())) throw new InputError(`cpus "${text}" is not a number of CPUs like 0.5, 1 or 2 (at most two decimals)`);
  return checkCpus(Number(text.trim()));
}

export function parsePids(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InputError(pidsRule(text));
  return checkPids(Number(text.trim()));
}

function pidsRule(value: unknown): string {
  return `pids "${String(value)}" must be a whole number from 1 to ${MAX_PIDS}: how many processes and threads a container may run at once`;
}

export function checkMemory(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < MIN_MEMORY_BYTES) throw new InputError(`memory must be at least ${formatMemory(MIN_MEMORY_BYTES)} (the Docker engine refuses less), got ${formatMemory(bytes)}`);
  return bytes;
}

/** `hostCpus`, where the server knows it: the engine refuses more CPUs than the host has. */
export function checkCpus(cpus: number, hostCpus?: number): number {
  if (!Number.isFinite(cpus) || cpus < MIN_CPUS || Math.abs(cpus * 100 - Math.round(cpus * 100)) > 1e-9) {
    throw new InputError(`cpus must be at least ${MIN_CPUS}, in hundredths of a CPU, got ${cpus}`, 'use 0.5 for half a CPU, 1 for one');
  }
  if (hostCpus !== undefined && cpus > hostCpus) throw new InputError(`cpus ${cpus} is more than the ${hostCpus} CPU(s) of this host`, `give at most ${hostCpus}`);
  return cpus;
}

export function checkPids(pids: number): number {
  if (!Number.isInteger(pids) || pids < 1 || pids > MAX_PIDS) throw new InputError(pidsRule(pids));
  return pids;
}

/** A change of limits as the API takes it: numbers, each checked; at least one given. */
export function checkResourceLimits(limits: ResourceLimits, hostCpus?: number): ResourceLimits {
  const checked: ResourceLimits = {};
  if (limits.memory !== undefined) checked.memory = checkMemory(limits.memory);
  if (limits.cpus !== undefined) checked.cpus = checkCpus(limits.cpus, hostCpus);
  if (limits.pids !== undefined) checked.pids = checkPids(limits.pids);
  if (!Object.keys(checked).length) throw new InputError('no limit given', 'give at least one of --memory SIZE, --cpus N, --pids N');
  return checked;
}

/** A process type a limit is for, or undefined for the whole app. */
export function checkResourceScope(processType: string | undefined): string | undefined {
  if (processType !== undefined && !isValidProcessType(processType)) throw new InputError(`"${processType}" is not a process type (${PROCESS_TYPE_RULE})`);
  return processType;
}

/** The largest unit that divides the size without a remainder, so 1536m stays 1536m and 1g reads 1g. */
export function formatMemory(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 1) return String(bytes);
  for (const unit of ['t', 'g', 'm', 'k'] as const) {
    if (bytes % UNITS[unit] === 0) return `${bytes / UNITS[unit]}${unit}`;
  }
  return `${bytes}b`;
}

/** The limits each container of `processType` gets: its own over the app's, and berth's pids limit where none is set. */
export function containerLimits(resources: AppResources, processType: string): ContainerLimits {
  const merged = { ...resources.app, ...resources.processes[processType] };
  return { ...merged, pids: merged.pids ?? DEFAULT_PIDS_LIMIT };
}

/** `memory=512m cpus=1 pids=256`, the way resource:limit takes them; `-` for none. */
export function limitsSummary(limits: ResourceLimits): string {
  const parts = [limits.memory === undefined ? '' : `memory=${formatMemory(limits.memory)}`, limits.cpus === undefined ? '' : `cpus=${limits.cpus}`, limits.pids === undefined ? '' : `pids=${limits.pids}`];
  return parts.filter(Boolean).join(' ') || '-';
}
