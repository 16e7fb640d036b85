/**
 * Reading a request's JSON body (or a GET's query string) into the endpoint's request type. These
 * are the only checks of shape (a string where a string belongs); what the values may be is the
 * service's to judge, by the rules of src/model/app.ts.
 */
import { InputError } from '../errors.js';
import { DEFAULT_LOG_LINES, parseReleaseNumber } from '../model/app.js';
import type { AppDeploySettings, AppProxyOptions } from '../model/app.js';
import type { ConfigChange, LogsQuery, ResourceChange, RunRequest } from '../model/api.js';
import type { MountSelector, StorageMount } from '../model/storage.js';

/** A request before anything is known about its shape. */
export interface RawRequest {
  /** The JSON body, `{}` when there is none. */
  body: Record<string, unknown>;
  query: URLSearchParams;
}

export function noRequest(): undefined {
  return undefined;
}

export function readAppName({ body }: RawRequest): { name: string } {
  if (typeof body.name !== 'string') throw new InputError('give the app name as {"name": "..."}');
  return { name: body.name };
}

/** A missing confirmation reads as empty, which the service refuses with what to send instead. */
export function readConfirmation({ body }: RawRequest): { confirm: string; purgeStorage: boolean } {
  if (body.purgeStorage !== undefined && typeof body.purgeStorage !== 'boolean') throw new InputError('purgeStorage must be true or false', 'like {"confirm": "myapp", "purgeStorage": true}');
  return { confirm: typeof body.confirm === 'string' ? body.confirm : '', purgeStorage: body.purgeStorage === true };
}

/** storage:mount: `{source, containerPath, readOnly?, process?}`; the storage rules judge the values. */
export function readStorageMount({ body }: RawRequest): StorageMount {
  const { source, containerPath, readOnly = false, process = null } = body;
  if (typeof source !== 'string' || typeof containerPath !== 'string' || typeof readOnly !== 'boolean' || (process !== null && typeof process !== 'string')) {
    throw new InputError('give the mount as {"source": "data", "containerPath": "/data", "readOnly": false, "process": "web"} (source: a NAME or an absolute host path; readOnly and process may be left out)');
  }
  return { source, containerPath, readOnly, process };
}

/** storage:unmount: `{source, containerPath?, process?}`. */
export function readMountSelector({ body }: RawRequest): MountSelector {
  const { source, containerPath, process } = body;
  if (typeof source !== 'string' || (containerPath !== undefined && typeof containerPath !== 'string') || (process !== undefined && typeof process !== 'string')) {
    throw new InputError('give the mount as {"source": "data"} or {"source": "/srv/uploads", "containerPath": "/uploads", "process": "web"} (containerPath and process may be left out)');
  }
  return { source, ...(containerPath === undefined ? {} : { containerPath }), ...(process === undefined ? {} : { process }) };
}

export function readConfigChange({ body }: RawRequest): ConfigChange {
  return { set: stringMap(body.set, 'set'), unset: stringList(body.unset, 'unset'), restart: body.restart !== false };
}

export function readFormation({ body }: RawRequest): { formation: Record<string, number> } {
  const formation = body.formation;
  if (!isPlainObject(formation) || Object.values(formation).some((count) => typeof count !== 'number')) {
    throw new InputError('give the formation as {"formation": {"web": 2, "worker": 1}}');
  }
  return { formation: formation as Record<string, number> };
}

export function readRollback({ body }: RawRequest): { release?: number } {
  if (body.release !== undefined && typeof body.release !== 'number') throw new InputError('release must be a number', 'leave it out to roll back to the release before the live one');
  return { release: body.release };
}

export function readDomain({ body }: RawRequest): { domain: string } {
  if (typeof body.domain !== 'string') throw new InputError('give the domain as {"domain": "www.example.com"}');
  return { domain: body.domain };
}

/** certs:add: the chain and its key as PEM text; what they hold is the certificates' to judge. */
export function readCertificatePair({ body }: RawRequest): { cert: string; key: string } {
  if (typeof body.cert !== 'string' || typeof body.key !== 'string') throw new InputError('give the certificate chain and its key as PEM text: {"cert": "-----BEGIN CERTIFICATE-----...", "key": "-----BEGIN PRIVATE KEY-----..."}');
  return { cert: body.cert, key: body.key };
}

/** certs:auto: `{on: false}` turns it off; on when left out. */
export function readAutoSwitch({ body }: RawRequest): { on: boolean } {
  if (body.on !== undefined && typeof body.on !== 'boolean') throw new InputError('on must be true or false', 'like {"on": false}; leave it out to turn certs:auto on');
  return { on: body.on !== false };
}

const PROXY_KEYS: Array<keyof AppProxyOptions> = ['redirectHttps', 'hsts'];

/** proxy:set: `{redirectHttps?, hsts?}`, booleans, at least one. */
export function readProxyChange({ body }: RawRequest): Partial<AppProxyOptions> {
  const keys = Object.keys(body);
  if (!keys.length || keys.some((key) => !PROXY_KEYS.includes(key as keyof AppProxyOptions) || typeof body[key] !== 'boolean')) {
    throw new InputError('give the settings as booleans: {"redirectHttps": false} or {"hsts": true}');
  }
  return body as Partial<AppProxyOptions>;
}

/** deploy:set: `{order}`; what it may be is the model's to judge. */
export function readDeployChange({ body }: RawRequest): Partial<AppDeploySettings> {
  if (typeof body.order !== 'string') throw new InputError('give the setting as {"order": "stop-first"} or {"order": "start-first"}');
  return { order: body.order as AppDeploySettings['order'] };
}

/** scheduler:set: `{scheduler}`; which ones there are is the model's to judge. */
export function readSchedulerChange({ body }: RawRequest): { scheduler: string } {
  if (typeof body.scheduler !== 'string') throw new InputError('give the scheduler as {"scheduler": "swarm"} or {"scheduler": "local"}');
  return { scheduler: body.scheduler };
}

/** deploy:image: `{image}`. */
export function readImageReference({ body }: RawRequest): { image: string } {
  if (typeof body.image !== 'string') throw new InputError('give the image as {"image": "myimage:1.2"}');
  return { image: body.image };
}

/** nodes:add: `{engine}`; what URL it may be is the engine module's to judge. */
export function readEngineUrl({ body }: RawRequest): { engine: string } {
  if (typeof body.engine !== 'string') throw new InputError('give the engine as {"engine": "ssh://root@10.0.0.5"} (or unix:///PATH, tcp://HOST:2376)');
  return { engine: body.engine };
}

/** `{process?, limits: {memory?, cpus?, pids?}}`, numbers in bytes, CPUs and processes. */
export function readResourceChange(raw: RawRequest): ResourceChange {
  const { limits } = raw.body;
  const isLimits = isPlainObject(limits) && Object.entries(limits).every(([key, value]) => RESOURCE_KEYS.includes(key) && typeof value === 'number');
  if (!isLimits) throw new InputError('give the limits as {"process": "web", "limits": {"memory": 536870912, "cpus": 1, "pids": 256}} (process may be left out; memory in bytes)');
  return { ...readResourceScope(raw), limits: limits as ResourceChange['limits'] };
}

const RESOURCE_KEYS = ['memory', 'cpus', 'pids'];

/** `{process?}`: which process type, or the whole app when left out. */
export function readResourceScope({ body }: RawRequest): { process?: string } {
  if (body.process !== undefined && typeof body.process !== 'string') throw new InputError('process must be a process type like "web"', 'leave it out for the whole app');
  return body.process === undefined ? {} : { process: body.process };
}

/** `?lines=N&follow=1&run=NAME&cron=ID`; the service judges N and the names. */
export function readLogsQuery({ query }: RawRequest): LogsQuery {
  const one = (key: 'run' | 'cron') => (query.get(key) === null ? {} : { [key]: query.get(key)! });
  return { lines: Number(query.get('lines') ?? DEFAULT_LOG_LINES), follow: query.get('follow') === '1', ...one('run'), ...one('cron') };
}

/** `{command: ["ls", "-la"], detach?: true}`. */
export function readRunRequest({ body }: RawRequest): RunRequest {
  if (!Array.isArray(body.command) || body.command.some((word) => typeof word !== 'string')) throw new InputError('give the command as {"command": ["ls", "-la"]}', 'berth run APP -- COMMAND ARGS...');
  if (body.detach !== undefined && typeof body.detach !== 'boolean') throw new InputError('detach must be true or false');
  return { command: body.command as string[], detach: body.detach === true };
}

/** A deploy log's `:release`: a release number, or `latest`. */
export function readDeployLogRelease(release: string): number | 'latest' {
  return release === 'latest' ? 'latest' : parseReleaseNumber(release);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isPlainObject(value) || Object.values(value).some((v) => typeof v !== 'string')) throw new InputError(`${what} must be an object of strings`, 'like {"set": {"KEY": "value"}}');
  return value as Record<string, string>;
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new InputError(`${what} must be a list of strings`, 'like {"unset": ["KEY"]}');
  return value as string[];
}
