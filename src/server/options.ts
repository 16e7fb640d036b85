import path from 'node:path';
import { readCommandLine, type CommandLineOption } from '../command-line.js';
import { checkToken, TOKEN_FLAG_REFUSED } from '../credentials.js';
import { UsageError } from '../errors.js';
import { isValidDomain } from '../model/app.js';
import { defaultDataDir } from '../model/local-server.js';
import { INSTANCE_NAME_RULE, isValidInstanceName } from '../model/naming.js';
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
  buildTimeoutSeconds: number;
  /** Upper bound on how long the old release drains after the switch. */
  drainTimeoutSeconds: number;
  /** SIGTERM-to-SIGKILL grace given to a retiring container. */
  stopTimeoutSeconds: number;
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
}

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
  buildTimeoutSeconds: 600,
  drainTimeoutSeconds: 30,
  stopTimeoutSeconds: 10,
  defaultCheckSettleSeconds: 2,
  listenTimeoutSeconds: 60,
  keepReleases: 3,
  keepDeployLogs: 100,
  pruneBuildCacheAfterDays: 7,
  maxPushBytes: 1024 ** 3,
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
  { key: 'buildTimeoutSeconds', flag: '--build-timeout', env: 'BERTH_BUILD_TIMEOUT', kind: 'int', help: 'seconds an image build may take' },
  { key: 'drainTimeoutSeconds', flag: '--drain-timeout', env: 'BERTH_DRAIN_TIMEOUT', kind: 'int', help: 'most seconds the old release drains after a switch' },
  { key: 'stopTimeoutSeconds', flag: '--stop-timeout', env: 'BERTH_STOP_TIMEOUT', kind: 'int', help: 'seconds between SIGTERM and SIGKILL when retiring' },
  { key: 'defaultCheckSettleSeconds', flag: '--settle', env: 'BERTH_SETTLE', kind: 'int', help: 'seconds a container must stay up when the app has no CHECKS' },
  { key: 'listenTimeoutSeconds', flag: '--listen-timeout', env: 'BERTH_LISTEN_TIMEOUT', kind: 'int', help: 'seconds a new container may take to listen on its port' },
  { key: 'keepReleases', flag: '--keep-releases', env: 'BERTH_KEEP_RELEASES', kind: 'int', help: 'release images kept for rollback' },
  { key: 'keepDeployLogs', flag: '--keep-deploy-logs', env: 'BERTH_KEEP_DEPLOY_LOGS', kind: 'int', help: 'deploy logs (and release records) kept per app, newest first' },
  { key: 'pruneBuildCacheAfterDays', flag: '--prune-build-cache-after', env: 'BERTH_PRUNE_BUILD_CACHE_AFTER', kind: 'int', help: 'days build cache may go unused before berth prunes it (0: never)' },
    { key: 'maxPushBytes', flag: '--max-push-size', env: 'BERTH_MAX_PUSH_SIZE', kind: 'size', help: 'largest push and build context, like 1g, 512m or bytes' },
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
  for (const key of ['deployTimeoutSeconds', 'buildTimeoutSeconds', 'listenTimeoutSeconds', 'drainTimeoutSeconds'] as const) {
    if (options[key] < 1) throw new UsageError(`${SERVE_OPTION_SPECS.find((s) => s.key === key)!.flag} must be at least 1 second`);
  }
  if (options.maxPushBytes < 1024) throw new UsageError('--max-push-size must be at least 1k (a push of one small commit is about that)');
  if (options.keepDeployLogs < 1) throw new UsageError('--keep-deploy-logs must be at least 1 (the newest deploy keeps its log)');
  if (!isValidInstanceName(options.instance)) throw new UsageError(`--instance "${options.instance}" is not a valid instance name (${INSTANCE_NAME_RULE})`, 'pick another --instance (or BERTH_INSTANCE), such as berth or berth2');
  if (!isValidDomain(options.domain)) throw new UsageError(`--domain "${options.domain}" is not a valid host name`);
  if (options.token !== undefined) checkToken(options.token, 'BERTH_TOKEN');
  if (options.token !== undefined && options.tokenFile !== undefined) {
    throw new UsageError('BERTH_TOKEN and --token-file (BERTH_TOKEN_FILE) both give a token', 'give it one way only');
  }
  return { ...options, dataDir: path.resolve(options.dataDir), tokenFile: options.tokenFile && path.resolve(options.tokenFile) };
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
