/**
 * Positional arguments that carry values (KEY=VALUE, TYPE=N, release numbers, app names), read
 * here and judged by the app model's rules (src/model/app.ts), so berth refuses the same things.
 */
import { InputError, UsageError } from '../errors.js';
import {
  checkAppName as checkModelAppName,
  checkConfigKey as checkModelConfigKey,
  checkFormation,
  checkLogLines,
  MAX_PROCESSES_PER_TYPE,
  parseReleaseNumber as parseModelReleaseNumber,
} from '../model/app.js';
import { checkResourceScope, parseCpus, parseMemory, parsePids, type ResourceLimits } from '../model/resources.js';
import { parseMountSelector, parseMountSpec, type MountSelector, type StorageMount } from '../model/storage.js';

/** Judges one argument by the app model's rule, and says which argument broke it. */
export function judged<T>(arg: string, rule: () => T): T {
  try {
    return rule();
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(`"${arg}": ${error.message}`, error.hint);
    throw error;
  }
}

function checkConfigKey(key: string, arg: string): void {
  judged(arg, () => checkModelConfigKey(key));
}

/** `KEY=VALUE` arguments; VALUE may be empty or contain `=`, a repeated KEY keeps its last value. */
export function parseConfigAssignments(args: string[]): Record<string, string> {
  const entries = args.map((arg): [string, string] => {
    const equals = arg.indexOf('=');
    if (equals === -1) throw new UsageError(`"${arg}" is not KEY=VALUE (e.g. LOG_LEVEL=debug; KEY= sets an empty value)`);
    const key = arg.slice(0, equals);
    checkConfigKey(key, arg);
    return [key, arg.slice(equals + 1)];
  });
  // fromEntries defines own properties, so a key like __proto__ stays an ordinary key.
  return Object.fromEntries(entries);
}

export function parseConfigKeys(args: string[]): string[] {
  for (const key of args) checkConfigKey(key, key);
  return args;
}

/** `TYPE=N` arguments, e.g. `web=2 worker=1`; a repeated TYPE keeps its last count. */
export function parseFormation(app: string, args: string[]): Record<string, number> {
  const entries = args.map((arg): [string, number] => {
    const equals = arg.indexOf('=');
    if (equals === -1) throw new UsageError(`"${arg}" is not TYPE=N (e.g. web=2)`);
    const [type, count] = [arg.slice(0, equals), arg.slice(equals + 1)];
    if (!/^\d+$/.test(count)) throw new UsageError(`"${arg}": N must be a whole number from 0 to ${MAX_PROCESSES_PER_TYPE}`);
    judged(arg, () => checkFormation(app, { [type]: Number(count) }));
    return [type, Number(count)];
  });
  return Object.fromEntries(entries);
}

export function parseReleaseNumber(raw: string): number {
  return judged(raw, () => parseModelReleaseNumber(raw));
}

export function parseLineCount(raw: string): number {
  return judged(`--lines ${raw}`, () => checkLogLines(Number(raw)));
}

export function checkAppName(name: string): string {
  return judged(name, () => checkModelAppName(name));
}

/** --memory, --cpus and --pids of resource:limit, read by the model's rules; at least one is needed. */
export function parseResourceLimits(given: { memory?: string; cpus?: string; pids?: string }): ResourceLimits {
  const limits: ResourceLimits = {};
  if (given.memory !== undefined) limits.memory = judged(`--memory ${given.memory}`, () => parseMemory(given.memory!));
  if (given.cpus !== undefined) limits.cpus = judged(`--cpus ${given.cpus}`, () => parseCpus(given.cpus!));
  if (given.pids !== undefined) limits.pids = judged(`--pids ${given.pids}`, () => parsePids(given.pids!));
  if (!Object.keys(limits).length) throw new UsageError('give at least one limit: --memory SIZE, --cpus N or --pids N', 'berth resource:report APP shows the limits');
  return limits;
}

export function parseProcessScope(type: string | undefined): string | undefined {
  return type === undefined ? undefined : judged(`--process ${type}`, () => checkResourceScope(type));
}

/** storage:mount's `NAME:/path[:ro]` or `/host/path:/path[:ro]`, for every process type or one. */
export function parseMount(spec: string, process: string | undefined): StorageMount {
  return judged(spec, () => parseMountSpec(spec, process ?? null));
}

/** storage:unmount's `NAME` or `/host/path`, with `:/path` when the source is mounted twice. */
export function parseUnmount(text: string, process: string | undefined): MountSelector {
  return judged(text, () => parseMountSelector(text, process));
}
