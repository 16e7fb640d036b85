/**
 * The admin API as both sides see it: every endpoint with its method, path and the types of what
 * goes in and comes out. The server's router answers these endpoints and the CLI calls them, so a
 * change to either side that the other does not follow fails to compile. See docs/cli.md.
 */
import type { AppDeploySettings, AppProxyOptions, ChecksState } from './app.js';
import type { AppResources, ContainerLimits, ResourceLimits } from './resources.js';
import type { SwarmNode } from './nodes.js';
import type { MountSelector, StorageMount } from './storage.js';
import type { SchedulerName } from './scheduler.js';

export interface ContainerInfo {
  name: string;
  process: string;
  release: number;
  /** running, exited, restarting... as the engine says. */
  state: string;
  /** Empty when the container has no address on berth's network. */
  ip: string;
  port: number;
  /** How its app.json liveness checks fare; null when it has none (or berth does not watch it: not live, checks disabled). */
  liveness: LivenessInfo | null;
}

/**
 * A live container's liveness checks: waiting (for initialDelay after it started), passing,
 * failing (the last `failures` attempts in a row failed, fewer than its attempts), restarting
 * (berth is restarting it after `attempts` failures in a row).
 */
export interface LivenessInfo {
  state: 'waiting' | 'passing' | 'failing' | 'restarting';
  failures: number;
  /** Restarts by berth since berth started. */
  restarts: number;
  lastResult: string | null;
  lastCheckedAt: string | null;
}

export interface AppSummary {
  name: string;
  release: number | null;
  commit: string | null;
  createdAt: string;
  formation: Record<string, number>;
  /** Every host name, the default APP.DOMAIN first. */
  domains: string[];
}

export interface AppInfo extends AppSummary {
  image: string | null;
  checks: ChecksState;
  stopped: boolean;
  configKeys: string[];
  containers: ContainerInfo[];
}

export const STAGES = ['build', 'release', 'stop', 'start', 'check', 'switch', 'retire'] as const;
export type StageName = (typeof STAGES)[number];

export interface ReleaseInfo {
  id: number;
  commit: string;
  image: string | null;
  status: string;
  description: string;
  createdAt: string;
  liveAt: string | null;
  finishedAt: string | null;
  stageMs: Partial<Record<StageName, number>>;
  failure: { stage: string; message: string } | null;
  /** The engine's id (sha256:...) of the image the release runs. */
  imageDigest: string | null;
  /** deploy:image: the image it was given, REFERENCE@DIGEST. */
  imageSource: string | null;
}

/** scheduler:report: where the app's containers run, and whether this berth's swarm has a node that takes tasks. */
export interface SchedulerReport {
  scheduler: SchedulerName;
  swarm: boolean;
}

/** deploy:report: how the app's deploys run. */
export interface DeployReport extends AppDeploySettings {
  /** stop-first: most seconds a request waits at the edge for the new release (berth serve --hold-timeout). */
  holdTimeoutSeconds: number;
}

export interface NginxState {
  running: boolean;
  pid: number | null;
}

/** Disk that something takes, and how many things hold it. */
export interface DiskUse {
  count: number;
  bytes: number;
}

export interface DiskInfo {
  /** The data dir: repositories, records, deploy logs, nginx's configs and logs. */
  dataDirBytes: number;
  /** This berth's images, counting the layers no other image uses; null when the engine does not answer. */
  images: DiskUse | null;
  /** The engine's build cache (dangling images that failed builds left, BuildKit's cache), engine-wide; null when the engine does not answer. */
  buildCache: DiskUse | null;
  /** Build cache unused this many days is pruned; 0: never. */
  pruneBuildCacheAfterDays: number;
}

/** How the git port is served: the certificate clients verify it by, or null over plain HTTP (--insecure-http). */
export interface GitPortTls {
  certificateFile: string;
  fingerprint: string;
  /** Where it came from: berth made it, the operator gave it (--tls-cert), or ACME for --server-name. */
  origin: 'self-signed' | 'given' | 'acme';
  notAfter: string | null;
  /** The ACME certificate for --server-name, when berth gets one: null otherwise. */
  acme: { serverName: string; state: CertificateState; notAfter: string | null; lastError: string | null; nextAttemptAt: string | null } | null;
}

/**
 * valid; due: its renewal time has come (an automatic one is being renewed, one brought with
 * certs:add should be replaced), or it does not cover a host name it should; failing: the last
 * attempt to get one failed; expired; missing: certs:auto is on and there is none yet.
 */
export type CertificateState = 'valid' | 'due' | 'failing' | 'expired' | 'missing';

/** An app's certificate as berth status shows it; null when it has none and certs:auto is off. */
export interface CertificateSummary {
  state: CertificateState;
  auto: boolean;
  notAfter: string | null;
  lastError: string | null;
  nextAttemptAt: string | null;
}

export interface CertificateInfo {
  app: string;
  /** certs:auto: berth gets and renews the certificate through ACME. */
  auto: boolean;
  /** The app's host names a certificate must cover (every one but those under .localhost). */
  names: string[];
  certificate: {
    names: string[];
    issuer: string;
    notBefore: string;
    notAfter: string;
    /** acme: berth got it; manual: brought with certs:add. */
    source: 'acme' | 'manual';
    /** When berth renews it (certs:auto), or when it should be replaced (one brought with certs:add). */
    renewsAt: string;
    /** The host names the edge serves it for. */
    serves: string[];
  } | null;
  /** Host names of the app it does not cover. */
  uncovered: string[];
  state: CertificateState | null;
  lastError: { message: string; hint: string | null; at: string } | null;
  nextAttemptAt: string | null;
  proxy: AppProxyOptions;
}

export interface StatusInfo {
  berth: { version: string; instance: string; domain: string; httpPort: number; httpsPort: number; gitPort: number; gitPortTls: GitPortTls | null; uptimeSeconds: number; dataDir: string };
  nginx: { edge: NginxState };
  docker: { running: boolean; version: string | null };
  disk: DiskInfo;
  apps: Array<{ name: string; release: number | null; commit: string | null; checks: ChecksState; stopped: boolean; containers: ContainerInfo[]; certificate: CertificateSummary | null }>;
  /** berth's swarm, when it has one (or its manager does not answer: error says why); null without a swarm. */
  swarm: { manager: string; nodes: SwarmNode[]; error: string | null } | null;
}

export interface DomainsInfo {
  /** APP.DOMAIN, which cannot be removed. */
  default: string;
  /** Those added with domains:add. */
  domains: string[];
}

/** A new release when the change restarted the app, else null (stored for the next start). */
export type NewRelease = number | null;

export interface ConfigChange {
  set?: Record<string, string>;
  unset?: string[];
  /** false: store the change only (berth config:set --no-restart). */
  restart?: boolean;
}

export interface ResourceReport {
  /** What resource:limit set: for the whole app, and per process type. */
  limits: AppResources;
  /** What each container gets, per process type: those that run and those with limits of their own. */
  containers: Record<string, ContainerLimits>;
}

/** resource:limit: the limits to set (numbers: bytes, CPUs, processes), for one process type or the whole app. */
export interface ResourceChange {
  process?: string;
  limits: ResourceLimits;
}

/** A mount as storage:list shows it: where its files are on the host, and whether berth keeps that folder. */
export interface MountInfo extends StorageMount {
  hostPath: string;
  managed: boolean;
}

/** What storage:mount and storage:unmount answer: the mounts now, and the release that runs with them. */
export interface StorageChanged {
  mounts: MountInfo[];
  release: NewRelease;
}

/** What apps:destroy did with the app's managed storage folder (null: it had none). */
export interface DestroyedStorage {
  dir: string;
  kept: boolean;
}

export interface LogsQuery {
  lines: number;
  follow: boolean;
  /** The output of one berth run container, by name, instead of the live containers'. */
  run?: string;
  /** The output of a cron job's last runs, by its id. */
  cron?: string;
}

/** berth run: the command's words after `--`; detach answers once it runs; interactive is a websocket of its own. */
export interface RunRequest {
  command: string[];
  detach: boolean;
}

/** A cron job of the live release, with when it runs next and how its last run went (UTC times). */
export interface CronJobInfo {
  id: string;
  schedule: string;
  command: string;
  nextRunAt: string;
  running: boolean;
  last: { name: string; startedAt: string; trigger: 'schedule' | 'manual'; exitCode: number | null; durationMs: number | null; stopped: string | null } | null;
  /** Runs due while the last one still ran. */
  skipped: number;
  lastSkippedAt: string | null;
  /** Runs due while berth was not running. */
  missed: number;
  lastMissedAt: string | null;
}

/** exitCode is null for a detached run (it is still running); stopped says why berth killed it. */
export interface RunResult {
  name: string;
  exitCode: number | null;
  durationMs: number | null;
  stopped: string | null;
}

/** What every error answer carries; the CLI prints both. */
export interface ErrorBody {
  error: string;
  hint?: string;
}

/**
 * A streamed answer (application/x-ndjson) is one `{line}` per line a pusher would read, then one
 * final event: the result, or why the operation failed.
 */
export type StreamEvent = { line: string } | FinalEvent;
export type FinalEvent = { ok: true; result: unknown } | ({ ok: false } & ErrorBody);

type Method = 'GET' | 'POST' | 'DELETE';

/** `:app`, `:domain` and `:release` in a path template, as a union of their names. */
export type PathParams<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParams<`/${Rest}`>
  : Path extends `${string}:${infer Name}`
    ? Name
    : never;

export interface Endpoint<Path extends string, Request, Response, Streams extends boolean = boolean> {
  method: Method;
  /** Below `/api`, with `:name` for each path parameter. */
  path: Path;
  /** Answers with StreamEvents instead of one JSON document. */
  streams: Streams;
  /** Never set: carries the request and response types to both sides. */
  readonly types?: { request: Request; response: Response };
}

function endpoint<Request, Response>() {
  return <Path extends string, Streams extends boolean = false>(method: Method, path: Path, streams = false as Streams): Endpoint<Path, Request, Response, Streams> => ({ method, path, streams });
}

export const API = {
  status: endpoint<undefined, StatusInfo>()('GET', '/status'),
  listApps: endpoint<undefined, { apps: AppSummary[] }>()('GET', '/apps'),
  createApp: endpoint<{ name: string }, { app: AppInfo }>()('POST', '/apps'),
  appInfo: endpoint<undefined, { app: AppInfo }>()('GET', '/apps/:app'),
  destroyApp: endpoint<{ confirm: string; purgeStorage?: boolean }, { destroyed: string; containers: number; images: number; storage: DestroyedStorage | null }>()('DELETE', '/apps/:app'),
  showConfig: endpoint<undefined, { config: Record<string, string> }>()('GET', '/apps/:app/config'),
  changeConfig: endpoint<ConfigChange, { config: Record<string, string>; release: NewRelease }>()('POST', '/apps/:app/config', true),
  scale: endpoint<{ formation: Record<string, number> }, { formation: Record<string, number>; release: NewRelease }>()('POST', '/apps/:app/scale', true),
  restart: endpoint<undefined, { release: NewRelease }>()('POST', '/apps/:app/ps/restart', true),
  stop: endpoint<undefined, { release: NewRelease }>()('POST', '/apps/:app/ps/stop', true),
  start: endpoint<undefined, { release: NewRelease }>()('POST', '/apps/:app/ps/start', true),
  releases: endpoint<undefined, { releases: ReleaseInfo[] }>()('GET', '/apps/:app/releases'),
  rollback: endpoint<{ release?: number }, { release: number; from: number }>()('POST', '/apps/:app/rollback', true),
  disableChecks: endpoint<undefined, { checks: ChecksState }>()('POST', '/apps/:app/checks/disable'),
  enableChecks: endpoint<undefined, { checks: ChecksState }>()('POST', '/apps/:app/checks/enable'),
  skipChecks: endpoint<undefined, { checks: ChecksState }>()('POST', '/apps/:app/checks/skip'),
  runChecks: endpoint<undefined, { passed: true }>()('POST', '/apps/:app/checks/run', true),
  domains: endpoint<undefined, DomainsInfo>()('GET', '/apps/:app/domains'),
  addDomain: endpoint<{ domain: string }, DomainsInfo>()('POST', '/apps/:app/domains'),
  removeDomain: endpoint<undefined, DomainsInfo>()('DELETE', '/apps/:app/domains/:domain'),
  resources: endpoint<undefined, ResourceReport>()('GET', '/apps/:app/resources'),
  limitResources: endpoint<ResourceChange, { resources: ResourceReport; release: NewRelease }>()('POST', '/apps/:app/resources', true),
  clearResources: endpoint<{ process?: string }, { resources: ResourceReport; release: NewRelease }>()('DELETE', '/apps/:app/resources', true),
  storage: endpoint<undefined, { mounts: MountInfo[] }>()('GET', '/apps/:app/storage'),
  mountStorage: endpoint<StorageMount, StorageChanged>()('POST', '/apps/:app/storage', true),
  unmountStorage: endpoint<MountSelector, StorageChanged & { removed: MountInfo[] }>()('DELETE', '/apps/:app/storage', true),
  logs: endpoint<LogsQuery, Record<string, never>>()('GET', '/apps/:app/logs', true),
  /** Streams the command's output (not with detach); berth run -i speaks a websocket on the same path instead. */
  run: endpoint<RunRequest, RunResult>()('POST', '/apps/:app/run', true),
  cronList: endpoint<undefined, { jobs: CronJobInfo[] }>()('GET', '/apps/:app/cron'),
  /** Streams the job's output. */
  cronRun: endpoint<undefined, RunResult>()('POST', '/apps/:app/cron/:id/run', true),
  certificate: endpoint<undefined, CertificateInfo>()('GET', '/apps/:app/certs'),
  addCertificate: endpoint<{ cert: string; key: string }, CertificateInfo>()('POST', '/apps/:app/certs'),
  removeCertificate: endpoint<undefined, CertificateInfo>()('DELETE', '/apps/:app/certs'),
  /** Streams the ACME exchange when it gets a certificate. */
  autoCertificate: endpoint<{ on: boolean }, CertificateInfo>()('POST', '/apps/:app/certs/auto', true),
  setProxy: endpoint<Partial<AppProxyOptions>, { proxy: AppProxyOptions; hasCertificate: boolean }>()('POST', '/apps/:app/proxy'),
  deploySettings: endpoint<undefined, DeployReport>()('GET', '/apps/:app/deploy'),
  setDeploy: endpoint<Partial<AppDeploySettings>, DeployReport>()('POST', '/apps/:app/deploy'),
  /** deploy:image: a release of an image already in the engine (pulled when it is not), through the pipeline. */
  deployImage: endpoint<{ image: string }, { release: number; image: string }>()('POST', '/apps/:app/deploy/image', true),
  schedulerReport: endpoint<undefined, SchedulerReport>()('GET', '/apps/:app/scheduler'),
  /** Streams the release that moves a live app. */
  setScheduler: endpoint<{ scheduler: string }, SchedulerReport & { release: NewRelease }>()('POST', '/apps/:app/scheduler', true),
  /** `:release` is a release number or `latest`. */
  deployLog: endpoint<undefined, { release: number; log: string }>()('GET', '/apps/:app/deploys/:release/log'),
  nodes: endpoint<undefined, { nodes: SwarmNode[] }>()('GET', '/nodes'),
  /** Streams what it does: making the swarm, the join. `engine`: unix:///PATH, tcp://HOST:2376 or ssh://USER@HOST. */
  addNode: endpoint<{ engine: string }, { node: SwarmNode }>()('POST', '/nodes', true),
  /** `:node` is a node's id or host name; streams the pause, the moves before the drain, the drain. */
  drainNode: endpoint<undefined, { node: SwarmNode }>()('POST', '/nodes/:node/drain', true),
  activateNode: endpoint<undefined, { node: SwarmNode }>()('POST', '/nodes/:node/activate'),
  removeNode: endpoint<undefined, { removed: SwarmNode }>()('DELETE', '/nodes/:node', true),
} as const;

export type EndpointName = keyof typeof API;
export type AnyEndpoint = (typeof API)[EndpointName];
export type RequestOf<E> = E extends Endpoint<string, infer Request, unknown> ? Request : never;
export type ResponseOf<E> = E extends Endpoint<string, unknown, infer Response> ? Response : never;
/** The values of the `:name` parts of an endpoint's path, e.g. `{ app }` for `/apps/:app`. */
export type ParamsOf<E> = E extends Endpoint<infer Path, unknown, unknown> ? Record<PathParams<Path>, string> : never;

/** The endpoint's path with its parameters filled in, each percent-encoded. */
export function endpointPath<Path extends string>(endpoint: Endpoint<Path, unknown, unknown>, params: Record<PathParams<Path>, string>): string {
  return endpoint.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent((params as Record<string, string>)[name]));
}
