/**
 * app.json, in Dokku's format (https://dokku.com/docs/appendices/file-formats/app-json/): the
 * parts berth acts on, read and checked once per release so each consumer gets typed values.
 *   scripts.dokku.predeploy / postdeploy   a command run once per deploy, before / after the switch
 *   cron                                    scheduled one-off commands, in UTC
 *   healthchecks                            checks per process type (startup, readiness, liveness)
 * Heroku's other keys (name, env, addons, buildpacks, formation...) are left alone, as Dokku
 * does, so one app.json serves both. What berth acts on and cannot take is an AppJsonError
 * naming the field, e.g. `healthchecks.web[0].type`.
 */
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { BerthError } from '../errors.js';
import type { CommitReader } from '../git/tree.js';
import { isValidProcessType, PROCESS_TYPE_RULE } from '../model/app.js';

export const APP_JSON_FILE = 'app.json';
export const APP_JSON_MAX_BYTES = 256 * 1024;

export type HealthCheckType = 'startup' | 'readiness' | 'liveness';
export const HEALTH_CHECK_TYPES: readonly HealthCheckType[] = ['startup', 'readiness', 'liveness'];

/** One check of a process type, with Dokku's field names; what is not given stays undefined, so its consumer applies the defaults. */
export interface HealthCheck {
  /** Where it is in app.json, for messages: `healthchecks.web[0]`. */
  field: string;
  type: HealthCheckType;
  name: string | undefined;
  /** An HTTP GET of this path (on `port`, else the app's port). */
  path: string | undefined;
  /** Text the answer must contain. */
  content: string | undefined;
  /** A command run inside the container, which must exit 0 (argv, as Dokku writes it). */
  command: string[] | undefined;
  /** The container must have been up this many seconds. */
  uptime: number | undefined;
  /** Only that the port accepts connections. */
  listening: boolean | undefined;
  attempts: number | undefined;
  timeoutSeconds: number | undefined;
  waitSeconds: number | undefined;
  initialDelaySeconds: number | undefined;
  port: number | undefined;
  scheme: 'http' | 'https' | undefined;
  headers: { name: string; value: string }[];
}

export interface CronEntry {
  /** Stable while the entry's schedule and command stay the same: what cron:run and logs --cron name. */
  id: string;
  /** Where it is in app.json, for messages: `cron[2]`. */
  field: string;
  command: string;
  /** Five fields (minute hour day month weekday), or @hourly, @daily, @weekly, @monthly, @yearly; UTC. */
  schedule: string;
}

export interface AppJson {
  predeploy: string | undefined;
  postdeploy: string | undefined;
  cron: CronEntry[];
  /** By process type, in app.json's order. */
  healthchecks: Record<string, HealthCheck[]>;
}

export const NO_APP_JSON: AppJson = { predeploy: undefined, postdeploy: undefined, cron: [], healthchecks: {} };

export const APP_JSON_LIMITS = { maxCronEntries: 100, maxChecksPerProcess: 20, maxCommandBytes: 4096, maxSeconds: 3600, maxAttempts: 100 } as const;

export class AppJsonError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(field ? `app.json ${field}: ${message}` : `app.json: ${message}`);
    this.name = 'AppJsonError';
  }
}

type Json = unknown;

/** The commit's app.json, checked; NO_APP_JSON when it has none. What cannot be taken fails the deploy naming the field. */
export async function readAppJson(tree: Pick<CommitReader, 'readFile' | 'commit'>): Promise<AppJson> {
  const file = await tree.readFile(APP_JSON_FILE, APP_JSON_MAX_BYTES + 1);
  if (!file) return NO_APP_JSON;
  if (file.truncated || file.content.length > APP_JSON_MAX_BYTES) throw new BerthError(`app.json in commit ${tree.commit.slice(0, 7)} is larger than ${APP_JSON_MAX_BYTES / 1024} KiB`, 'keep app.json to the app\'s description: scripts, cron and healthchecks');
  try {
    return parseAppJson(file.content.toString('utf8'));
  } catch (error) {
    if (error instanceof AppJsonError) throw new BerthError(error.message, 'fix app.json (see the README, "app.json") and push again');
    throw error;
  }
}

export function parseAppJson(text: string): AppJson {
  let document: Json;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new AppJsonError('', `is not JSON (${(error as Error).message})`);
  }
  if (!isObject(document)) throw new AppJsonError('', `must be a JSON object, not ${kindOf(document)}`);
  const scripts = optionalObject(document.scripts, 'scripts');
  const dokku = scripts && optionalObject(scripts.dokku, 'scripts.dokku');
  return {
    predeploy: dokku && optionalCommand(dokku.predeploy, 'scripts.dokku.predeploy'),
    postdeploy: dokku && optionalCommand(dokku.postdeploy, 'scripts.dokku.postdeploy'),
    cron: readCron(document.cron),
    healthchecks: readHealthchecks(document.healthchecks),
  };
}

function readCron(value: Json): CronEntry[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new AppJsonError('cron', `must be a list of {"command": ..., "schedule": ...}, not ${kindOf(value)}`);
  if (value.length > APP_JSON_LIMITS.maxCronEntries) throw new AppJsonError('cron', `has ${value.length} entries; berth runs at most ${APP_JSON_LIMITS.maxCronEntries}`);
  const entries = value.map((entry: Json, index) => readCronEntry(entry, `cron[${index}]`));
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const twin = seen.get(entry.id);
    if (twin) throw new AppJsonError(entry.field, `is the same job as ${twin} (same schedule and command): remove one`);
    seen.set(entry.id, entry.field);
  }
  return entries;
}

function readCronEntry(entry: Json, field: string): CronEntry {
  if (!isObject(entry)) throw new AppJsonError(field, `must be an object {"command": ..., "schedule": ...}, not ${kindOf(entry)}`);
  const command = optionalCommand(entry.command, `${field}.command`);
  if (command === undefined) throw new AppJsonError(`${field}.command`, 'is missing: the command to run, e.g. "python manage.py clearsessions"');
  const schedule = readSchedule(entry.schedule, `${field}.schedule`);
  const policy = entry.concurrency_policy;
  if (policy !== undefined && policy !== 'forbid') {
    throw new AppJsonError(`${field}.concurrency_policy`, `is ${JSON.stringify(policy)}; berth never runs two copies of a job at once (a run that is due while the last one runs is skipped), which is "forbid": remove the key or set it to "forbid"`);
  }
  return { id: cronId(schedule, command), field, command, schedule };
}

const SCHEDULE_ALIASES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** Dokku's five-field schedules, read by cron-parser; the field is named when it does not parse. */
export function readSchedule(value: Json, field: string): string {
  if (typeof value !== 'string' || !value.trim()) throw new AppJsonError(field, 'is missing: a cron schedule such as "*/5 * * * *" or "@daily" (UTC)');
  const schedule = value.trim().replace(/\s+/g, ' ');
  const fields = schedule.split(' ').length;
  if (schedule.startsWith('@') ? !SCHEDULE_ALIASES.includes(schedule.toLowerCase()) : fields !== 5) {
    throw new AppJsonError(field, `"${value}" is not a schedule: give five fields (minute hour day-of-month month day-of-week, e.g. "*/5 * * * *") or one of ${SCHEDULE_ALIASES.join(', ')}`);
  }
  try {
    CronExpressionParser.parse(schedule, { tz: 'UTC' });
  } catch (error) {
    throw new AppJsonError(field, `"${value}" does not parse: ${(error as Error).message}`);
  }
  return schedule;
}

/** When the schedule next fires after `after`, in UTC. */
export function nextRun(schedule: string, after: Date): Date {
  return CronExpressionParser.parse(schedule, { tz: 'UTC', currentDate: after }).next().toDate();
}

function cronId(schedule: string, command: string): string {
  return createHash('sha256').update(`${schedule}\n${command}`).digest('hex').slice(0, 10);
}

function readHealthchecks(value: Json): Record<string, HealthCheck[]> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new AppJsonError('healthchecks', `must be an object of process types, each a list of checks, not ${kindOf(value)}`);
  const checks: Record<string, HealthCheck[]> = {};
  for (const [processType, list] of Object.entries(value)) {
    const field = `healthchecks.${processType}`;
    if (!isValidProcessType(processType)) throw new AppJsonError(field, `"${processType}" is not a process type (${PROCESS_TYPE_RULE})`);
    if (!Array.isArray(list)) throw new AppJsonError(field, `must be a list of checks, not ${kindOf(list)}`);
    if (list.length > APP_JSON_LIMITS.maxChecksPerProcess) throw new AppJsonError(field, `has ${list.length} checks; at most ${APP_JSON_LIMITS.maxChecksPerProcess}`);
    checks[processType] = list.map((check: Json, index) => readHealthCheck(check, `${field}[${index}]`));
  }
  return checks;
}

function readHealthCheck(check: Json, field: string): HealthCheck {
  if (!isObject(check)) throw new AppJsonError(field, `must be an object, not ${kindOf(check)}`);
  const type = check.type ?? 'startup';
  if (!HEALTH_CHECK_TYPES.includes(type as HealthCheckType)) {
    throw new AppJsonError(`${field}.type`, `${JSON.stringify(type)} is not a check type berth knows: ${HEALTH_CHECK_TYPES.join(', ')}`);
  }
  const read: HealthCheck = {
    field,
    type: type as HealthCheckType,
    name: optionalString(check.name, `${field}.name`),
    path: optionalPath(check.path, `${field}.path`),
    content: optionalString(check.content, `${field}.content`),
    command: optionalArgv(check.command, `${field}.command`),
    uptime: optionalNumber(check.uptime, `${field}.uptime`, 1, APP_JSON_LIMITS.maxSeconds),
    listening: optionalBoolean(check.listening, `${field}.listening`),
    attempts: optionalNumber(check.attempts, `${field}.attempts`, 1, APP_JSON_LIMITS.maxAttempts),
    timeoutSeconds: optionalNumber(check.timeout, `${field}.timeout`, 1, APP_JSON_LIMITS.maxSeconds),
    waitSeconds: optionalNumber(check.wait, `${field}.wait`, 0, APP_JSON_LIMITS.maxSeconds),
    initialDelaySeconds: optionalNumber(check.initialDelay, `${field}.initialDelay`, 0, APP_JSON_LIMITS.maxSeconds),
    port: optionalNumber(check.port, `${field}.port`, 1, 65535),
    scheme: optionalScheme(check.scheme, `${field}.scheme`),
    headers: readHeaders(check.httpHeaders, `${field}.httpHeaders`),
  };
  const kinds = [read.path !== undefined, read.command !== undefined, read.uptime !== undefined, read.listening === true].filter(Boolean).length;
  if (kinds !== 1) throw new AppJsonError(field, `needs exactly one of "path" (an HTTP check), "command", "uptime" or "listening": true; it has ${kinds === 0 ? 'none' : 'several'}`);
  if (read.content !== undefined && read.path === undefined) throw new AppJsonError(`${field}.content`, 'only goes with "path": it is text the HTTP answer must contain');
  return read;
}

function readHeaders(value: Json, field: string): { name: string; value: string }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new AppJsonError(field, 'must be a list of {"name": ..., "value": ...}');
  return value.map((header: Json, index) => {
    if (!isObject(header) || typeof header.name !== 'string' || typeof header.value !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header.name) || /[\r\n\0]/.test(header.value)) {
      throw new AppJsonError(`${field}[${index}]`, 'must be {"name": "X-Header", "value": "text"}: a header name, and a value without line breaks');
    }
    return { name: header.name, value: header.value };
  });
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: Json): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

function optionalObject(value: Json, field: string): Record<string, Json> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new AppJsonError(field, `must be an object, not ${kindOf(value)}`);
  return value;
}

function optionalString(value: Json, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new AppJsonError(field, `must be text, not ${kindOf(value)}`);
  if (value.includes('\0')) throw new AppJsonError(field, 'holds a NUL byte');
  return value;
}

function optionalCommand(value: Json, field: string): string | undefined {
  const command = optionalString(value, field);
  if (command === undefined) return undefined;
  if (!command.trim()) throw new AppJsonError(field, 'is empty: give the command to run, or remove the key');
  if (Buffer.byteLength(command) > APP_JSON_LIMITS.maxCommandBytes) throw new AppJsonError(field, `is longer than ${APP_JSON_LIMITS.maxCommandBytes} bytes: put it in a script in the repository and run that`);
  return command;
}

function optionalArgv(value: Json, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.some((part) => typeof part !== 'string' || part.includes('\0'))) {
    throw new AppJsonError(field, 'must be a non-empty list of strings, the command and its arguments, e.g. ["/app/healthcheck.sh", "--quick"]');
  }
  return value as string[];
}

function optionalPath(value: Json, field: string): string | undefined {
  const path = optionalString(value, field);
  if (path === undefined) return undefined;
  if (!/^\/[\x21-\x7e]*$/.test(path)) throw new AppJsonError(field, `"${path.slice(0, 80)}" is not a path: it starts with / and holds no spaces or control characters`);
  return path;
}

function optionalNumber(value: Json, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new AppJsonError(field, `must be a whole number from ${min} to ${max}, not ${kindOf(value)}`);
  }
  return value;
}

function optionalBoolean(value: Json, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new AppJsonError(field, `must be true or false, not ${kindOf(value)}`);
  return value;
}

function optionalScheme(value: Json, field: string): 'http' | 'https' | undefined {
  if (value === undefined) return undefined;
  if (value !== 'http' && value !== 'https') throw new AppJsonError(field, `must be "http" or "https", not ${kindOf(value)}`);
  return value;
}
