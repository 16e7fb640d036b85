import net from 'node:net';
import path from 'node:path';
import { readCommandLine, type CommandLineOption } from '../command-line.js';
import { checkToken, TOKEN_FLAG_REFUSED } from '../credentials.js';
import { describe, UsageError, type InputError } from '../errors.js';
import { isValidDomain } from '../model/app.js';
import { checkRegistryAddress } from '../model/registry.js';
import { isScheduler, SCHEDULERS } from '../model/scheduler.js';
import { defaultDataDir } from '../model/local-server.js';
import { INSTANCE_NAME_RULE, isValidInstanceName } from '../model/naming.js';
import { isLoopbackHost } from '../model/tls.js';
import { parseEngineUrl } from '../runtime/swarm/engines.js';
import { formatSize, parseSize } from '../size.js';

/** Everything `berth serve` can be told, with every default in this one place. */
export interface ServeOptions {
  dataDir: string;
  gitPort: number;
  httpPort: number;
  /** Where nginx serves the apps over TLS (HTTP/2 and HTTP/1.1), for the host names that have a certificate. */
  httpsPort: number;
  /** Apps answer at `<app>.<domain>`. */
  domain: string;
  /** Address the git/API server binds to; nginx listens on every interface. */
  listenHost: string;
  /** Names this berth's Docker network, image repository and labels, so several can share an engine. */
  instance: string;
  /** BERTH_TOKEN; never a flag. */
  token: string | undefined;
  /** A file holding the token, instead of BERTH_TOKEN. */
  tokenFile: string | undefined;
  createAppsOnPush: boolean;
  /** Extra plugin folders, searched after the built-in ones. */
  pluginDirs: string[];
  nginxBin: string;
  deployTimeoutSeconds: number;
  /** Longest a berth run one-off container may run before it is killed and removed. */
  runTimeoutSeconds: number;
  buildTimeoutSeconds: number;
  /** Upper bound on how long the old release drains after the switch. */
  drainTimeoutSeconds: number;
  /** SIGTERM-to-SIGKILL grace given to a retiring container. */
  stopTimeoutSeconds: number;
  /** stop-first deploys: how long a request arriving while no release runs waits at the edge before a 503. */
  holdTimeoutSeconds: number;
  /** With no CHECKS file: how long the new container must stay up, unrestarted, once it listens. */
  defaultCheckSettleSeconds: number;
  /** How long a new container may take to accept connections on its port. */
  listenTimeoutSeconds: number;
  /** Images of this many most recent releases are kept for rollback; older ones are pruned. */
  keepReleases: number;
  /** Deploy logs of this many most recent releases are kept (each is capped at 512 KiB); their release records too. */
  keepDeployLogs: number;
  /** Build cache (what failed builds leave) unused for this many days is pruned; 0 never prunes it. */
  pruneBuildCacheAfterDays: number;
  /** The most a push may send (its git request, inflated) and the most its commit's tree may hold. */
  maxPushBytes: number;
  /** The certificate (chain) and key the git port serves, instead of berth's self-signed one. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Plain HTTP on the git port: only on a loopback --listen, since the token would cross the network in clear. */
  insecureHttp: boolean;
  /** The name clients reach the git port by: in the self-signed certificate, the push URL berth prints, and (later) an ACME certificate. */
  serverName: string | undefined;
  /** The git port's certificate for --server-name from ACME (when it is a name a CA can validate and no --tls-cert is given). */
  serverAcme: boolean;
  /** The ACME directory certificates come from. */
  acmeDirectory: string;
  /** The contact of the ACME account, for the CA's notices; none when unset. */
  acmeEmail: string | undefined;
  /** A CA to trust for the ACME server's own HTTPS. */
  acmeCaFile: string | undefined;
  /** certs:auto for every app that has not turned it off. */
  acmeAuto: boolean;
  /** The Docker engine that manages berth's swarm (a swarm manager); undefined: the local engine. */
  swarmEngine: string | undefined;
  /** Where new apps run: on the local engine, or as Swarm services over berth's nodes. */
  scheduler: 'local' | 'swarm';
  /** The port of the registry berth runs for its swarm nodes (docker-registry). */
  registryPort: number;
  /** The address (HOST or HOST:PORT) swarm nodes pull images from; undefined: this host's address toward the manager. */
  registryAddress: string | undefined;
  registryBin: string;
}

/** Let's Encrypt's production directory: where certificates come from unless --acme-directory says otherwise. */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

export const DEFAULTS: ServeOptions = {
  dataDir: defaultDataDir(),
  gitPort: 7070,
  httpPort: 80,
  httpsPort: 443,
  domain: 'localhost',
  listenHost: '0.0.0.0',
  instance: 'berth',
  token: undefined,
  tokenFile: undefined,
  createAppsOnPush: true,
  pluginDirs: [],
  nginxBin: 'nginx',
  deployTimeoutSeconds: 900,
  runTimeoutSeconds: 3600,
  buildTimeoutSeconds: 600,
  drainTimeoutSeconds: 30,
  stopTimeoutSeconds: 10,
  holdTimeoutSeconds: 30,
  defaultCheckSettleSeconds: 2,
  listenTimeoutSeconds: 60,
  keepReleases: 3,
  keepDeployLogs: 100,
  pruneBuildCacheAfterDays: 7,
  maxPushBytes: 1024 ** 3,
  tlsCert: undefined,
  tlsKey: undefined,
  insecureHttp: false,
  serverName: undefined,
  serverAcme: true,
  acmeDirectory: LETS_ENCRYPT_DIRECTORY,
  acmeEmail: undefined,
  acmeCaFile: undefined,
  acmeAuto: false,
  swarmEngine: undefined,
  scheduler: 'local',
  registryPort: 5000,
  registryAddress: undefined,
  registryBin: 'docker-registry',
};

type Kind = 'string' | 'int' | 'bool' | 'list' | 'size';

interface OptionSpec {
  key: keyof ServeOptions;
  flag: string;
  env: string;
  kind: Kind;
  help: string;
}

export const SERVE_OPTION_SPECS: OptionSpec[] = [
  { key: 'dataDir', flag: '--data-dir', env: 'BERTH_DATA_DIR', kind: 'string', help: 'where berth keeps repos, state and its nginx' },
  { key: 'gitPort', flag: '--git-port', env: 'BERTH_GIT_PORT', kind: 'int', help: 'port for git pushes (and the API)' },
  { key: 'httpPort', flag: '--http-port', env: 'BERTH_HTTP_PORT', kind: 'int', help: 'port nginx serves the apps on' },
  { key: 'httpsPort', flag: '--https-port', env: 'BERTH_HTTPS_PORT', kind: 'int', help: 'port nginx serves the apps on over HTTPS' },
  { key: 'domain', flag: '--domain', env: 'BERTH_DOMAIN', kind: 'string', help: 'apps answer at APP.DOMAIN' },
  { key: 'listenHost', flag: '--listen', env: 'BERTH_LISTEN', kind: 'string', help: 'address the git server binds' },
  { key: 'instance', flag: '--instance', env: 'BERTH_INSTANCE', kind: 'string', help: 'name of this berth on the Docker engine' },
  { key: 'tokenFile', flag: '--token-file', env: 'BERTH_TOKEN_FILE', kind: 'string', help: 'file holding the push token, instead of BERTH_TOKEN' },
  { key: 'createAppsOnPush', flag: '--create-apps-on-push', env: 'BERTH_CREATE_APPS_ON_PUSH', kind: 'bool', help: 'a push to an unknown app creates it (--no-create-apps-on-push to refuse)' },
  { key: 'pluginDirs', flag: '--plugins-dir', env: 'BERTH_PLUGINS_DIRS', kind: 'list', help: 'extra plugin folder (repeatable; env: colon-separated)' },
  { key: 'nginxBin', flag: '--nginx', env: 'BERTH_NGINX', kind: 'string', help: 'nginx binary' },
  { key: 'deployTimeoutSeconds', flag: '--deploy-timeout', env: 'BERTH_DEPLOY_TIMEOUT', kind: 'int', help: 'seconds a whole deploy may take' },
  { key: 'runTimeoutSeconds', flag: '--run-timeout', env: 'BERTH_RUN_TIMEOUT', kind: 'int', help: 'seconds a berth run or cron one-off container may run before it is killed and removed' },
  { key: 'buildTimeoutSeconds', flag: '--build-timeout', env: 'BERTH_BUILD_TIMEOUT', kind: 'int', help: 'seconds an image build may take' },
  { key: 'drainTimeoutSeconds', flag: '--drain-timeout', env: 'BERTH_DRAIN_TIMEOUT', kind: 'int', help: 'most seconds the old release drains after a switch' },
  { key: 'holdTimeoutSeconds', flag: '--hold-timeout', env: 'BERTH_HOLD_TIMEOUT', kind: 'int', help: 'stop-first deploys: most seconds a request waits at the edge for the new release (then 503)' },
  { key: 'stopTimeoutSeconds', flag: '--stop-timeout', env: 'BERTH_STOP_TIMEOUT', kind: 'int', help: 'seconds between SIGTERM and SIGKILL when retiring' },
  { key: 'defaultCheckSettleSeconds', flag: '--settle', env: 'BERTH_SETTLE', kind: 'int', help: 'seconds a container must stay up when the app has no CHECKS' },
  { key: 'listenTimeoutSeconds', flag: '--listen-timeout', env: 'BERTH_LISTEN_TIMEOUT', kind: 'int', help: 'seconds a new container may take to listen on its port' },
  { key: 'keepReleases', flag: '--keep-releases', env: 'BERTH_KEEP_RELEASES', kind: 'int', help: 'release images kept for rollback' },
  { key: 'keepDeployLogs', flag: '--keep-deploy-logs', env: 'BERTH_KEEP_DEPLOY_LOGS', kind: 'int', help: 'deploy logs (and release records) kept per app, newest first' },
  { key: 'pruneBuildCacheAfterDays', flag: '--prune-build-cache-after', env: 'BERTH_PRUNE_BUILD_CACHE_AFTER', kind: 'int', help: 'days build cache may go unused before berth prunes it (0: never)' },
  { key: 'maxPushBytes', flag: '--max-push-size', env: 'BERTH_MAX_PUSH_SIZE', kind: 'size', help: 'largest push and build context, like 1g, 512m or bytes' },
  { key: 'tlsCert', flag: '--tls-cert', env: 'BERTH_TLS_CERT', kind: 'string', help: 'certificate (PEM, chain after it) the git port serves over HTTPS, instead of a self-signed one' },
  { key: 'tlsKey', flag: '--tls-key', env: 'BERTH_TLS_KEY', kind: 'string', help: 'the private key (PEM) of --tls-cert' },
  { key: 'serverName', flag: '--server-name', env: 'BERTH_SERVER_NAME', kind: 'string', help: 'the host name clients use for the git port: its certificate comes from ACME for it (self-signed for an IP, a .localhost name or with --no-server-acme)' },
  { key: 'serverAcme', flag: '--server-acme', env: 'BERTH_SERVER_ACME', kind: 'bool', help: 'the git port\'s certificate for --server-name from ACME (on by default; --no-server-acme keeps the self-signed one)' },
  { key: 'insecureHttp', flag: '--insecure-http', env: 'BERTH_INSECURE_HTTP', kind: 'bool', help: 'plain HTTP on the git port, only with a loopback --listen: the token crosses in clear' },
  { key: 'acmeDirectory', flag: '--acme-directory', env: 'BERTH_ACME_DIRECTORY', kind: 'string', help: 'ACME directory URL certificates come from' },
  { key: 'acmeEmail', flag: '--acme-email', env: 'BERTH_ACME_EMAIL', kind: 'string', help: 'contact address of the ACME account' },
  { key: 'acmeCaFile', flag: '--acme-ca-file', env: 'BERTH_ACME_CA_FILE', kind: 'string', help: 'PEM file of a CA to trust for the ACME server\'s HTTPS (a private CA)' },
  { key: 'acmeAuto', flag: '--acme-auto', env: 'BERTH_ACME_AUTO', kind: 'bool', help: 'certs:auto for every app that has not turned it off' },
  { key: 'swarmEngine', flag: '--swarm-engine', env: 'BERTH_SWARM_ENGINE', kind: 'string', help: 'the Docker engine managing berth\'s swarm (unix:///PATH, tcp://HOST:2376, ssh://USER@HOST); default: the local one' },
  { key: 'scheduler', flag: '--scheduler', env: 'BERTH_SCHEDULER', kind: 'string', help: 'where new apps run: local (this engine) or swarm (services over berth\'s nodes)' },
  { key: 'registryPort', flag: '--registry-port', env: 'BERTH_REGISTRY_PORT', kind: 'int', help: 'port of the registry berth runs for its swarm nodes' },
  { key: 'registryAddress', flag: '--registry-address', env: 'BERTH_REGISTRY_ADDRESS', kind: 'string', help: 'HOST[:PORT] swarm nodes pull images from (default: this host\'s address toward the manager)' },
  { key: 'registryBin', flag: '--registry', env: 'BERTH_REGISTRY', kind: 'string', help: 'docker-registry binary' },
];

function convert(spec: OptionSpec, raw: string, source: string): unknown {
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(':').filter(Boolean);
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new UsageError(`${source} must be true or false, got "${raw}"`);
    case 'int': {
      if (!/^\d+$/.test(raw)) throw new UsageError(`${source} must be a whole number, got "${raw}"`);
      return Number(raw);
    }
    case 'size': {
      const bytes = parseSize(raw);
      if (bytes === undefined) throw new UsageError(`${source} must be a size like 1g, 512m, 64k or a number of bytes, got "${raw}"`);
      return bytes;
    }
  }
}

/** Flags win over environment variables, which win over DEFAULTS; plugin folders add up. */
export function resolveServeOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeOptions {
  const fromEnv = environmentOptions(env);
  const fromFlags = flagOptions(argv);
  const pluginDirs = [...(fromEnv.pluginDirs ?? DEFAULTS.pluginDirs), ...(fromFlags.pluginDirs ?? [])];
  return validate({ ...DEFAULTS, ...fromEnv, ...fromFlags, pluginDirs });
}

function environmentOptions(env: NodeJS.ProcessEnv): Partial<ServeOptions> {
  const options: Record<string, unknown> = {};
  for (const spec of SERVE_OPTION_SPECS) {
    const raw = env[spec.env];
    if (raw !== undefined && raw !== '') options[spec.key] = convert(spec, raw, spec.env);
  }
  if (env.BERTH_TOKEN) options.token = env.BERTH_TOKEN;
  return options;
}

const VALUE_NAMES: Partial<Record<Kind, string>> = { int: 'N', size: 'SIZE' };

/** As parseArgs and help know a flag: a bool is a switch (with its --no- form), an int takes N, the rest a VALUE. */
function commandLineOption(spec: OptionSpec): CommandLineOption {
  const option: CommandLineOption = { name: spec.flag.replace(/^--/, '') };
  if (spec.kind !== 'bool') option.value = VALUE_NAMES[spec.kind] ?? 'VALUE';
  if (spec.kind === 'list') option.multiple = true;
  return option;
}

function flagOptions(argv: string[]): Partial<ServeOptions> {
  const options = SERVE_OPTION_SPECS.map(commandLineOption);
  const { values } = readCommandLine(switchesWithoutValues(argv), { command: 'serve', options, allowPositionals: false, allowNegative: true, refused: [TOKEN_FLAG_REFUSED] });
  const given: Record<string, unknown> = {};
  SERVE_OPTION_SPECS.forEach((spec, i) => {
    const value = values[options[i].name];
    if (value !== undefined) given[spec.key] = flagValue(spec, value);
  });
  return given;
}

/** A list gathers every --plugins-dir given, each of which may itself be colon-separated. */
function flagValue(spec: OptionSpec, value: string | boolean | Array<string | boolean>): unknown {
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.flatMap((item) => convert(spec, String(item), spec.flag) as string[]);
  return convert(spec, value, spec.flag);
}

/**
 * `--create-apps-on-push=false` reads its value like the environment variable does; parseArgs
 * gives a switch no value, so it becomes the switch or its --no- form first.
 */
function switchesWithoutValues(argv: string[]): string[] {
  return argv.map((arg) => {
    const spec = SERVE_OPTION_SPECS.find((s) => s.kind === 'bool' && arg.startsWith(`${s.flag}=`));
    if (!spec) return arg;
    return convert(spec, arg.slice(spec.flag.length + 1), spec.flag) ? spec.flag : spec.flag.replace(/^--/, '--no-');
  });
}

function validate(options: ServeOptions): ServeOptions {
  for (const key of ['gitPort', 'httpPort', 'httpsPort'] as const) {
    if (options[key] < 1 || options[key] > 65535) throw new UsageError(`${key} must be a port between 1 and 65535`);
  }
  if (options.httpPort === options.httpsPort) throw new UsageError(`--http-port and --https-port are both ${options.httpPort}`, 'give HTTPS a port of its own (default 443)');
  for (const key of ['deployTimeoutSeconds', 'runTimeoutSeconds', 'buildTimeoutSeconds', 'listenTimeoutSeconds', 'drainTimeoutSeconds', 'holdTimeoutSeconds'] as const) {
    if (options[key] < 1) throw new UsageError(`${SERVE_OPTION_SPECS.find((s) => s.key === key)!.flag} must be at least 1 second`);
  }
  if (options.maxPushBytes < 1024) throw new UsageError('--max-push-size must be at least 1k (a push of one small commit is about that)');
  if (options.keepDeployLogs < 1) throw new UsageError('--keep-deploy-logs must be at least 1 (the newest deploy keeps its log)');
  if (!isValidInstanceName(options.instance)) throw new UsageError(`--instance "${options.instance}" is not a valid instance name (${INSTANCE_NAME_RULE})`, 'pick another --instance (or BERTH_INSTANCE), such as berth or berth2');
  if (!isValidDomain(options.domain)) throw new UsageError(`--domain "${options.domain}" is not a valid host name`);
  checkAcme(options);
  checkSwarm(options);
  if (options.token !== undefined) checkToken(options.token, 'BERTH_TOKEN');
  if (options.token !== undefined && options.tokenFile !== undefined) {
    throw new UsageError('BERTH_TOKEN and --token-file (BERTH_TOKEN_FILE) both give a token', 'give it one way only');
  }
  validateTls(options);
  const resolved = (file: string | undefined) => file && path.resolve(file);
  return { ...options, dataDir: path.resolve(options.dataDir), tokenFile: resolved(options.tokenFile), tlsCert: resolved(options.tlsCert), tlsKey: resolved(options.tlsKey), acmeCaFile: resolved(options.acmeCaFile) };
}

/**
 * HTTPS unless told otherwise; plain HTTP only where nothing leaves the machine, because every
 * request carries the token. A TLS-terminating proxy in front of berth on the same host reaches
 * it over loopback; one on another host would carry the token across the network in clear.
 */
function validateTls(options: ServeOptions): void {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new UsageError(`--tls-cert and --tls-key go together (only ${options.tlsCert ? '--tls-cert' : '--tls-key'} was given)`, 'give both files (BERTH_TLS_CERT and BERTH_TLS_KEY), or neither for a self-signed certificate');
  }
  if (options.serverName !== undefined && !isValidDomain(options.serverName) && !net.isIP(options.serverName)) {
    throw new UsageError(`--server-name "${options.serverName}" is not a host name or an IP address`, 'give the name clients use to reach this server, e.g. --server-name berth.example.com');
  }
  if (!options.insecureHttp) return;
  if (options.tlsCert !== undefined) throw new UsageError('--insecure-http serves plain HTTP, so it takes no --tls-cert or --tls-key', 'leave out --insecure-http to serve HTTPS with your certificate');
  if (!isLoopbackHost(options.listenHost)) {
    throw new UsageError(
      `--insecure-http is refused with --listen ${options.listenHost}: every request carries the token, which would cross the network in clear`,
      'serve HTTPS (the default; berth makes a self-signed certificate, or give --tls-cert/--tls-key), or keep --insecure-http with --listen 127.0.0.1 behind a TLS proxy on this host',
    );
  }
}

function checkSwarm(options: ServeOptions): void {
  if (!isScheduler(options.scheduler)) throw new UsageError(`--scheduler "${options.scheduler}" is not a scheduler (${SCHEDULERS.join(' or ')})`, 'local runs apps on this engine; swarm runs them as services over the nodes of berth nodes:add');
  if (options.registryPort < 1 || options.registryPort > 65535) throw new UsageError('--registry-port must be a port between 1 and 65535');
  if (options.registryAddress !== undefined) checkRegistryAddress(options.registryAddress);
  if (options.swarmEngine === undefined) return;
  try {
    parseEngineUrl(options.swarmEngine);
  } catch (error) {
    throw new UsageError(`--swarm-engine: ${describe(error)}`, (error as InputError).hint);
  }
}

/** RFC 8555 servers speak HTTPS only; an e-mail address becomes a mailto: contact. */
function checkAcme(options: ServeOptions): void {
  let url: URL | undefined;
  try {
    url = new URL(options.acmeDirectory);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:') throw new UsageError(`--acme-directory "${options.acmeDirectory}" is not an https:// URL`, `ACME servers answer over HTTPS only; Let's Encrypt's is ${LETS_ENCRYPT_DIRECTORY}`);
  if (options.acmeEmail !== undefined && !/^[^\s@:]+@[^\s@]+\.[^\s@]+$/.test(options.acmeEmail)) throw new UsageError(`--acme-email "${options.acmeEmail}" is not an e-mail address`, 'like ops@example.com');
}

function shownDefault(spec: OptionSpec): string {
  const value = DEFAULTS[spec.key];
  if (Array.isArray(value) || value === undefined) return 'none';
  return spec.kind === 'size' ? formatSize(value as number) : String(value);
}

export function serveHelp(): string {
  const lines = SERVE_OPTION_SPECS.map((s) => {
    const { value } = commandLineOption(s);
    const shown = value ? `${s.flag} ${value}` : s.flag;
    return `  ${shown.padEnd(28)} ${s.help} (env ${s.env}; default ${shownDefault(s)})`;
  });
  return ['Usage: berth serve [options]', '', 'Runs the git push server and keeps berth\'s nginx running.', '', ...lines, '', '  BERTH_TOKEN                  push token (default: --token-file, or generated once and stored in DATA_DIR/token)'].join('\n');
}
