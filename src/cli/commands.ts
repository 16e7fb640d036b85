import readline from 'node:readline/promises';
import { InputError, UsageError } from '../errors.js';
import {
  checkAppName as checkModelAppName,
  checkConfigKey as checkModelConfigKey,
  checkFormation,
  checkLogLines,
  DEFAULT_LOG_LINES,
  MAX_PROCESSES_PER_TYPE,
  parseReleaseNumber as parseModelReleaseNumber,
  type ChecksState,
} from '../model/app.js';
import { API, STAGES, type AnyEndpoint, type AppInfo, type ContainerInfo, type DomainsInfo, type LogsQuery, type NginxState, type ReleaseInfo, type RequestOf, type ResponseOf, type StatusInfo } from '../model/api.js';
import { CliError, Client, DEFAULT_URL, EXIT, resolveConnection, type ParamsOf } from './client.js';
import { formatFormation, formatKeyValues, formatList, formatMinute, formatSeconds, formatTable, formatUptime, orDash, shortCommit } from './format.js';

// ---- Command definitions ----

interface Flag {
  name: string;
  short?: string;
  /** Names the flag's value in help; a flag without one is a switch. */
  value?: string;
  help: string;
}

type Group = 'apps' | 'config' | 'ps' | 'releases' | 'checks' | 'domains' | 'logs' | 'status';

export interface Command {
  name: string;
  group: Group;
  /** Positional arguments in usage notation: `APP`, `[RELEASE]` (optional), `KEY=VALUE...` (one or more), `[TYPE=N...]`. */
  args: string[];
  flags?: Flag[];
  summary: string;
  example: string;
  run(invocation: Invocation): Promise<void>;
}

export interface Invocation {
  args: string[];
  /** Given flags by their long name; a switch maps to true. */
  flags: Map<string, string | true>;
  json: boolean;
  /** Made on first use, so --help and argument errors need no token. */
  client(): Client;
}

export const GLOBAL_FLAGS: Flag[] = [
  { name: '--url', value: 'URL', help: `berth server (env BERTH_URL; default ${DEFAULT_URL})` },
  { name: '--token', value: 'TOKEN', help: 'admin token (env BERTH_TOKEN)' },
  { name: '--json', help: 'print the raw JSON result instead of text' },
  { name: '--help', short: '-h', help: 'show the usage of the command and an example' },
];


const NO_RESTART: Flag = { name: '--no-restart', help: 'store the change only; running containers keep the old values until berth ps:restart APP' };

// ---- Output ----

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** With --json the result as berth sent it, otherwise what render makes of it. */
function show<T>(invocation: Invocation, result: T, render: (result: T) => string): void {
  print(invocation.json ? JSON.stringify(result, null, 2) : render(result));
}

/** berth's lines go to stdout as they arrive (not with --json); resolves with the final result. */
function streamed<E extends AnyEndpoint>(invocation: Invocation, endpoint: E, params: ParamsOf<E>, request: RequestOf<E>): Promise<ResponseOf<E>> {
  return invocation.client().stream(endpoint, params, request, invocation.json ? () => undefined : print);
}

// ---- Argument parsing (pure, exported for the unit tests) ----

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

/** Judges one argument by the app model's rule, and says which argument broke it. */
function judged<T>(arg: string, rule: () => T): T {
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

/** `TYPE=N` arguments, e.g. `web=2 worker=1`; a repeated TYPE keeps its last count. */
export function parseFormation(args: string[]): Record<string, number> {
  const entries = args.map((arg): [string, number] => {
    const equals = arg.indexOf('=');
    if (equals === -1) throw new UsageError(`"${arg}" is not TYPE=N (e.g. web=2)`);
    const [type, count] = [arg.slice(0, equals), arg.slice(equals + 1)];
    if (!/^\d+$/.test(count)) throw new UsageError(`"${arg}": N must be a whole number from 0 to ${MAX_PROCESSES_PER_TYPE}`);
    judged(arg, () => checkFormation('APP', { [type]: Number(count) }));
    return [type, Number(count)];
  });
  return Object.fromEntries(entries);
}

export function parseReleaseNumber(raw: string): number {
  return judged(raw, () => parseModelReleaseNumber(raw));
}

function parseLineCount(raw: string): number {
  return judged(`--lines ${raw}`, () => checkLogLines(Number(raw)));
}

function checkAppName(name: string): string {
  return judged(name, () => checkModelAppName(name));
}

function isOptional(arg: string): boolean {
  return arg.startsWith('[');
}

function isRepeated(arg: string): boolean {
  return /\.\.\.\]?$/.test(arg);
}

/** Splits argv into positional arguments and flags and checks both against the command's usage. */
export function parseArguments(command: Command, argv: string[]): { args: string[]; flags: Map<string, string | true> } {
  const known = [...(command.flags ?? []), ...GLOBAL_FLAGS];
  const args: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      args.push(arg);
      continue;
    }
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const flag = known.find((candidate) => candidate.name === name || candidate.short === name);
    if (!flag) throw new UsageError(`unknown option ${name} for ${command.name} (see berth ${command.name} --help)`);
    if (!flag.value) {
      if (inline !== undefined) throw new UsageError(`${flag.name} takes no value`);
      flags.set(flag.name, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag.name} needs a value (${flag.value})`);
    flags.set(flag.name, value);
  }
  checkArity(command, args);
  return { args, flags };
}

function checkArity(command: Command, args: string[]): void {
  const required = command.args.filter((arg) => !isOptional(arg));
  if (args.length < required.length) {
    throw new UsageError(`missing ${required[args.length].replace('...', '')} (usage: berth ${usageOf(command)})`);
  }
  const acceptsMore = command.args.some(isRepeated);
  if (!acceptsMore && args.length > command.args.length) {
    throw new UsageError(`unexpected argument "${args[command.args.length]}" (usage: berth ${usageOf(command)})`);
  }
}

export function makeInvocation(command: Command, argv: string[]): Invocation {
  const { args, flags } = parseArguments(command, argv);
  let client: Client | undefined;
  return {
    args,
    flags,
    json: flags.has('--json'),
    client: () => (client ??= new Client(resolveConnection({ url: stringFlag(flags, '--url'), token: stringFlag(flags, '--token') }))),
  };
}

function stringFlag(flags: Map<string, string | true>, name: string): string | undefined {
  const value = flags.get(name);
  return typeof value === 'string' ? value : undefined;
}

// ---- Suggestions ----

/** Edits (insert, delete, replace, swap two neighbours) that turn a into b: `stauts` is 1 from `status`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const replace = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + replace);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The command a mistyped name most likely meant, if any is near enough. A start of a name matches it,
 * and a name is also compared by its parts, so a topic or subcommand alone finds it
 * (`apps` → apps:list, `restart` → ps:restart); on a tie the earlier name wins.
 */
export function closestCommand(input: string, names: string[]): string | undefined {
  const typed = input.toLowerCase();
  const distanceTo = (name: string) => (name.startsWith(typed) ? 0 : Math.min(...[name, ...name.split(':')].map((part) => editDistance(typed, part))));
  const ranked = names.map((name) => ({ name, distance: distanceTo(name) })).sort((a, b) => a.distance - b.distance);
  const best = ranked[0];
  return best && best.distance <= Math.max(1, Math.floor(typed.length / 3)) ? best.name : undefined;
}

// ---- Rendering ----

function containerAddress(container: ContainerInfo): string {
  return container.ip ? `${container.ip}:${orDash(container.port)}` : '-';
}

function containerTable(containers: ContainerInfo[]): string {
  return formatTable(
    ['CONTAINER', 'PROCESS', 'RELEASE', 'STATE', 'ADDRESS'],
    containers.map((c) => [c.name, c.process, String(c.release), c.state, containerAddress(c)]),
  );
}

function releaseLabel(release: number | null, commit: string | null): string {
  return release === null ? 'none (never deployed)' : `${release} (commit ${shortCommit(commit)})`;
}

function renderAppInfo(app: AppInfo): string {
  const details = formatKeyValues([
    ['App', app.name],
    ['Created', formatMinute(app.createdAt)],
    ['Release', releaseLabel(app.release, app.commit)],
    ['Image', orDash(app.image)],
    ['Processes', formatFormation(app.formation)],
    ['Checks', app.checks],
    ['Domains', formatList(app.domains)],
    ['Config keys', formatList(app.configKeys)],
    ['Containers', app.containers.length === 0 ? 'none' : String(app.containers.length)],
  ]);
  return app.containers.length === 0 ? details : `${details}\n\n${containerTable(app.containers)}`;
}

function renderReleases(app: string, releases: ReleaseInfo[]): string {
  if (releases.length === 0) return `${app} has no releases yet: git push to deploy it`;
  return formatTable(
    ['RELEASE', 'STATUS', 'COMMIT', 'IMAGE', 'CREATED', 'BUILD', 'START', 'CHECKS', 'SWITCH', 'RETIRE', 'DESCRIPTION'],
    releases.map((r) => [
      String(r.id),
      r.status,
      shortCommit(r.commit),
      orDash(r.image),
      formatMinute(r.createdAt),
      ...STAGES.map((stage) => formatSeconds(r.stageMs[stage])),
      r.failure ? `failed at ${r.failure.stage}: ${r.failure.message}` : orDash(r.description),
    ]),
  );
}

function nginxState(state: NginxState): string {
  return state.running ? `running, pid ${orDash(state.pid)}` : 'not running';
}

function containerSummary(containers: ContainerInfo[]): string {
  const byState = new Map<string, number>();
  for (const container of containers) byState.set(container.state, (byState.get(container.state) ?? 0) + 1);
  return byState.size === 0 ? '-' : [...byState].map(([state, count]) => `${count} ${state}`).join(', ');
}

function renderStatus(status: StatusInfo): string {
  const { berth, nginx, docker } = status;
  const overview = formatKeyValues([
    ['berth', `${berth.version} (instance ${berth.instance}), up ${formatUptime(berth.uptimeSeconds)}`],
    ['apps served at', `http://APP.${berth.domain}:${berth.httpPort}/`],
    ['git and API', `port ${berth.gitPort}`],
    ['data dir', berth.dataDir],
    ['nginx edge', nginxState(nginx.edge)],
    ['nginx switch', nginxState(nginx.switch)],
    ['docker', docker.running ? `running, version ${orDash(docker.version)}` : 'not running'],
  ]);
  if (status.apps.length === 0) return `${overview}\n\nNo apps yet.`;
  const apps = formatTable(
    ['APP', 'RELEASE', 'COMMIT', 'CHECKS', 'CONTAINERS'],
    status.apps.map((app) => [app.name, orDash(app.release), shortCommit(app.commit), app.checks, containerSummary(app.containers)]),
  );
  return `${overview}\n\n${apps}`;
}

function renderDomains(result: DomainsInfo): string {
  return [`${result.default} (default)`, ...result.domains].join('\n');
}

/** Where `git push` reaches the app; the token stays a shell variable so it is not printed. */
function gitRemote(url: string, app: string): string {
  const { protocol, host, pathname } = new URL(url);
  return `${protocol}//berth:$BERTH_TOKEN@${host}${pathname.replace(/\/$/, '')}/${app}.git`;
}

function configOutcome(verb: string, keys: string[], app: string, release: number | null, restarted: boolean): string {
  const done = `${verb} ${keys.join(', ')} on ${app}`;
  if (release !== null) return `${done}; release ${release} runs with the change`;
  if (!restarted) return `${done}; running containers keep the old values until berth ps:restart ${app}`;
  return `${done}; it applies from the first deploy`;
}

const CHECKS_ENDPOINTS = { disable: API.disableChecks, enable: API.enableChecks, skip: API.skipChecks };

const CHECKS_MEANING: Record<ChecksState, string> = {
  enabled: 'every deploy runs CHECKS before the switch',
  disabled: 'deploys skip CHECKS until berth checks:enable APP',
  'skip-next': 'the next deploy skips CHECKS, later ones run them',
};

// ---- Commands ----

async function confirmDestroy(app: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UsageError(`apps:destroy ${app} cannot ask for confirmation (stdin is not a terminal): pass --force`);
  }
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
  const cancel = new AbortController();
  prompt.once('SIGINT', () => cancel.abort());
  try {
    const answer = await prompt.question(`This destroys ${app}: its containers, images, releases and config.\nType the app name to confirm: `, { signal: cancel.signal });
    if (answer.trim() !== app) throw new CliError(`"${answer.trim()}" is not "${app}": nothing was destroyed`, EXIT.failed);
  } catch (error) {
    if (cancel.signal.aborted) throw new CliError('cancelled: nothing was destroyed', EXIT.failed);
    throw error;
  } finally {
    prompt.close();
  }
}

function processCommand(action: 'restart' | 'stop' | 'start', done: string, summary: string): Command {
  return {
    name: `ps:${action}`,
    group: 'ps',
    args: ['APP'],
    summary,
    example: `berth ps:${action} myapp`,
    async run(invocation) {
      const [app] = invocation.args;
      const result = await streamed(invocation, API[action], { app }, undefined);
      show(invocation, result, ({ release }) => `${done} ${app}${release === null ? '' : ` (release ${release})`}`);
    },
  };
}

function checksCommand(action: 'disable' | 'enable' | 'skip', summary: string): Command {
  return {
    name: `checks:${action}`,
    group: 'checks',
    args: ['APP'],
    summary,
    example: `berth checks:${action} myapp`,
    async run(invocation) {
      const [app] = invocation.args;
      const result = await invocation.client().call(CHECKS_ENDPOINTS[action], { app });
      show(invocation, result, ({ checks }) => `Checks of ${app}: ${checks} (${CHECKS_MEANING[checks].replace('APP', app)})`);
    },
  };
}

type DomainChange = (client: Client, app: string, domain: string) => Promise<DomainsInfo>;

function domainsCommand(action: 'add' | 'remove', change: DomainChange, done: (domain: string, app: string) => string, summary: string): Command {
  return {
    name: `domains:${action}`,
    group: 'domains',
    args: ['APP', 'DOMAIN'],
    summary,
    example: `berth domains:${action} myapp www.example.com`,
    async run(invocation) {
      const [app, domain] = invocation.args;
      const result = await change(invocation.client(), app, domain);
      show(invocation, result, (domains) => `${done(domain, app)}\n\n${renderDomains(domains)}`);
    },
  };
}

export const COMMANDS: Command[] = [
  {
    name: 'apps:list',
    group: 'apps',
    args: [],
    summary: 'list the apps with their live release',
    example: 'berth apps:list',
    async run(invocation) {
      const result = await invocation.client().call(API.listApps, {});
      show(invocation, result, ({ apps }) =>
        apps.length === 0
          ? 'No apps yet: create one with berth apps:create NAME, or git push to a new one'
          : formatTable(
              ['APP', 'RELEASE', 'COMMIT', 'PROCESSES', 'DOMAINS', 'CREATED'],
              apps.map((app) => [app.name, orDash(app.release), shortCommit(app.commit), formatFormation(app.formation), formatList(app.domains), formatMinute(app.createdAt)]),
            ),
      );
    },
  },
  {
    name: 'apps:create',
    group: 'apps',
    args: ['NAME'],
    summary: 'create an app, ready for its first git push',
    example: 'berth apps:create myapp',
    async run(invocation) {
      const name = checkAppName(invocation.args[0]);
      const client = invocation.client();
      const result = await client.call(API.createApp, {}, { name });
      const remote = gitRemote(client.connection.url, name);
      show(invocation, result, () => `Created ${name}. Deploy it with:\n  git remote add berth ${remote}\n  git push berth main`);
    },
  },
  {
    name: 'apps:info',
    group: 'apps',
    args: ['APP'],
    summary: 'show the release, processes, checks, domains, config keys and containers of an app',
    example: 'berth apps:info myapp',
    async run(invocation) {
      const result = await invocation.client().call(API.appInfo, { app: invocation.args[0] });
      show(invocation, result, ({ app }) => renderAppInfo(app));
    },
  },
  {
    name: 'apps:destroy',
    group: 'apps',
    args: ['APP'],
    flags: [{ name: '--force', help: 'do not ask to type the app name (needed when stdin is not a terminal)' }],
    summary: 'remove an app with its containers, images, releases and config',
    example: 'berth apps:destroy myapp --force',
    async run(invocation) {
      const [app] = invocation.args;
      if (!invocation.flags.has('--force')) await confirmDestroy(app);
      const result = await invocation.client().call(API.destroyApp, { app }, { confirm: app });
      show(invocation, result, ({ containers, images }) => `Destroyed ${app}: removed ${containers} container(s) and ${images} image(s)`);
    },
  },
  {
    name: 'config:show',
    group: 'config',
    args: ['APP'],
    summary: 'show the config vars of an app',
    example: 'berth config:show myapp',
    async run(invocation) {
      const [app] = invocation.args;
      const result = await invocation.client().call(API.showConfig, { app });
      show(invocation, result, ({ config }) => {
        const entries = Object.entries(config).sort(([a], [b]) => a.localeCompare(b));
        return entries.length === 0 ? `${app} has no config vars` : formatKeyValues(entries);
      });
    },
  },
  {
    name: 'config:get',
    group: 'config',
    args: ['APP', 'KEY'],
    summary: 'print the value of one config var (exit 4 when it is not set)',
    example: 'DATABASE_URL=$(berth config:get myapp DATABASE_URL)',
    async run(invocation) {
      const [app, key] = invocation.args;
      const { config } = await invocation.client().call(API.showConfig, { app });
      if (!Object.hasOwn(config, key)) throw new CliError(`${key} is not set on ${app}`, EXIT.notFound, `berth config:show ${app} lists what is set`);
      show(invocation, config[key], (value) => value);
    },
  },
  {
    name: 'config:set',
    group: 'config',
    args: ['APP', 'KEY=VALUE...'],
    flags: [NO_RESTART],
    summary: 'set config vars and restart the app so its containers get them',
    example: 'berth config:set myapp DATABASE_URL=postgres://db/myapp LOG_LEVEL=debug',
    async run(invocation) {
      const [app, ...assignments] = invocation.args;
      const set = parseConfigAssignments(assignments);
      const restart = !invocation.flags.has('--no-restart');
      const result = await streamed(invocation, API.changeConfig, { app }, { set, restart });
      show(invocation, result, ({ release }) => configOutcome('Set', Object.keys(set), app, release, restart));
    },
  },
  {
    name: 'config:unset',
    group: 'config',
    args: ['APP', 'KEY...'],
    flags: [NO_RESTART],
    summary: 'remove config vars and restart the app without them',
    example: 'berth config:unset myapp LOG_LEVEL',
    async run(invocation) {
      const [app, ...keys] = invocation.args;
      const unset = parseConfigKeys(keys);
      const restart = !invocation.flags.has('--no-restart');
      const result = await streamed(invocation, API.changeConfig, { app }, { unset, restart });
      show(invocation, result, ({ release }) => configOutcome('Unset', unset, app, release, restart));
    },
  },
  {
    name: 'ps:scale',
    group: 'ps',
    args: ['APP', '[TYPE=N...]'],
    summary: 'set how many containers of each process type run, or show the counts',
    example: 'berth ps:scale myapp web=2 worker=1',
    async run(invocation) {
      const [app, ...counts] = invocation.args;
      if (counts.length === 0) {
        const { app: info } = await invocation.client().call(API.appInfo, { app });
        show(invocation, { formation: info.formation }, ({ formation }) => formatKeyValues(Object.entries(formation).map(([type, count]) => [type, String(count)])));
        return;
      }
      const formation = parseFormation(counts);
      const result = await streamed(invocation, API.scale, { app }, { formation });
      show(invocation, result, (scaled) => `Scaled ${app} to ${formatFormation(scaled.formation)}${scaled.release === null ? '' : ` (release ${scaled.release})`}`);
    },
  },
  processCommand('restart', 'Restarted', 'restart the containers of an app'),
  processCommand('stop', 'Stopped', 'stop the containers of an app'),
  processCommand('start', 'Started', 'start the stopped containers of an app'),
  {
    name: 'releases',
    group: 'releases',
    args: ['APP'],
    summary: 'list the releases of an app, newest first, with the time of each stage',
    example: 'berth releases myapp',
    async run(invocation) {
      const [app] = invocation.args;
      const result = await invocation.client().call(API.releases, { app });
      show(invocation, result, ({ releases }) => renderReleases(app, releases));
    },
  },
  {
    name: 'rollback',
    group: 'releases',
    args: ['APP', '[RELEASE]'],
    summary: 'make an earlier release live again (default: the one before the live one)',
    example: 'berth rollback myapp 3',
    async run(invocation) {
      const [app, rawRelease] = invocation.args;
      const body = rawRelease === undefined ? {} : { release: parseReleaseNumber(rawRelease) };
      const result = await streamed(invocation, API.rollback, { app }, body);
      show(invocation, result, ({ release, from }) => `Rolled back ${app}: release ${release} is live (was release ${from})`);
    },
  },
  checksCommand('disable', 'skip CHECKS on every deploy until checks:enable'),
  checksCommand('enable', 'run CHECKS on every deploy again'),
  checksCommand('skip', 'skip CHECKS on the next deploy only'),
  {
    name: 'checks:run',
    group: 'checks',
    args: ['APP'],
    summary: 'run CHECKS now against the running containers (exit 1 when one fails)',
    example: 'berth checks:run myapp',
    async run(invocation) {
      const [app] = invocation.args;
      // A failed check ends the stream with {ok: false}, which streamed throws (exit 1): a result has passed.
      const result = await streamed(invocation, API.runChecks, { app }, undefined);
      show(invocation, result, () => `CHECKS passed against ${app}`);
    },
  },
  {
    name: 'domains:list',
    group: 'domains',
    args: ['APP'],
    summary: 'list the host names an app answers to',
    example: 'berth domains:list myapp',
    async run(invocation) {
      const result = await invocation.client().call(API.domains, { app: invocation.args[0] });
      show(invocation, result, renderDomains);
    },
  },
  domainsCommand(
    'add',
    (client, app, domain) => client.call(API.addDomain, { app }, { domain }),
    (domain, app) => `Added ${domain} to ${app}`,
    'make an app answer to one more host name',
  ),
  domainsCommand(
    'remove',
    (client, app, domain) => client.call(API.removeDomain, { app, domain }),
    (domain, app) => `Removed ${domain} from ${app}`,
    'stop an app answering to a host name it was given',
  ),
  {
    name: 'logs',
    group: 'logs',
    args: ['APP'],
    flags: [
      { name: '--follow', short: '-f', help: 'keep printing new lines until Ctrl-C' },
      { name: '--lines', short: '-n', value: 'N', help: `start with the last N lines of each container (default ${DEFAULT_LOG_LINES})` },
    ],
    summary: 'print the output of the containers of an app',
    example: 'berth logs myapp -f -n 20',
    async run(invocation) {
      const [app] = invocation.args;
      const lines = parseLineCount(stringFlag(invocation.flags, '--lines') ?? String(DEFAULT_LOG_LINES));
      const follow = invocation.flags.has('--follow');
      // Following ends only with Ctrl-C, which is how the user says they are done: not a failure.
      if (follow) process.once('SIGINT', () => process.exit(0));
      const onLine = invocation.json ? (line: string) => print(JSON.stringify({ line })) : print;
      const query: LogsQuery = { lines, follow };
      await invocation.client().stream(API.logs, { app }, query, onLine);
    },
  },
  {
    name: 'deploys:log',
    group: 'logs',
    args: ['APP', '[RELEASE]'],
    summary: 'print what the pusher read during a deploy (default: the latest)',
    example: 'berth deploys:log myapp 4',
    async run(invocation) {
      const [app, rawRelease] = invocation.args;
      const release = rawRelease === undefined || rawRelease === 'latest' ? 'latest' : String(parseReleaseNumber(rawRelease));
      const result = await invocation.client().call(API.deployLog, { app, release });
      show(invocation, result, ({ log }) => log || `release ${result.release} has an empty deploy log`);
    },
  },
  {
    name: 'status',
    group: 'status',
    args: [],
    summary: 'show the state of berth, its nginx, Docker and every app',
    example: 'berth status',
    async run(invocation) {
      const result = await invocation.client().call(API.status, {});
      show(invocation, result, renderStatus);
    },
  },
];

// ---- Help ----

const GROUP_TITLES: Record<Group | 'serve', string> = {
  apps: 'Apps',
  config: 'Config',
  ps: 'Processes',
  releases: 'Releases',
  checks: 'Checks',
  domains: 'Domains',
  logs: 'Logs',
  status: 'Status',
  serve: 'Server',
};

/** serve and help are run by main.ts itself, but listed with the rest. */
const BUILT_IN_LINES: Array<[string, string]> = [
  ['serve [options]', 'run the berth server on this machine (berth serve --help for its options)'],
  ['help [COMMAND]', 'show this help, or the help of one command'],
  ['version', 'print the version of this berth command (also --version)'],
];

export const COMMAND_NAMES = [...COMMANDS.map((command) => command.name), 'serve', 'help', 'version'];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}

export function usageOf(command: Command): string {
  const flags = (command.flags ?? []).map((flag) => `[${flag.short ? `${flag.short}|` : ''}${flag.name}${flag.value ? ` ${flag.value}` : ''}]`);
  return [command.name, ...command.args, ...flags].join(' ');
}

function flagLines(flags: Flag[]): string[] {
  const labels = flags.map((flag) => `${flag.short ? `${flag.short}, ` : ''}${flag.name}${flag.value ? ` ${flag.value}` : ''}`);
  const width = Math.max(...labels.map((label) => label.length));
  return flags.map((flag, i) => `  ${labels[i].padEnd(width)}  ${flag.help}`);
}

/** Every command by group, for `berth help` and the unknown-command error. */
export function commandList(): string {
  const groups = Object.keys(GROUP_TITLES) as Array<keyof typeof GROUP_TITLES>;
  const entries = groups.map((group) => ({
    title: GROUP_TITLES[group],
    lines: group === 'serve' ? BUILT_IN_LINES : COMMANDS.filter((c) => c.group === group).map((c): [string, string] => [usageOf(c), c.summary]),
  }));
  const width = Math.max(...entries.flatMap((entry) => entry.lines.map(([usage]) => usage.length)));
  return entries.map(({ title, lines }) => [title, ...lines.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`)].join('\n')).join('\n\n');
}

export function generalHelp(): string {
  return [
    'Usage: berth <command> [arguments] [options]',
    '',
    "Manages the apps of a berth server through its admin API. Point it at the server with BERTH_URL and BERTH_TOKEN (or --url and --token).",
    '',
    commandList(),
    '',
    'Options of every command except serve',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'Exit codes',
    '  0  success',
    '  1  berth refused or the operation failed (a failed deploy, restart or check, a conflict such as a busy app)',
    '  2  usage error: bad arguments (here or as judged by berth), or no token',
    '  3  berth unreachable, or the token was rejected',
    '  4  not found: no such app, release or domain, or (config:get) the key is not set',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  return [
    `Usage: berth ${usageOf(command)}`,
    '',
    `${command.summary[0].toUpperCase()}${command.summary.slice(1)}.`,
    '',
    'Options',
    ...flagLines([...(command.flags ?? []), ...GLOBAL_FLAGS]),
    '',
    'Example',
    `  ${command.example}`,
  ].join('\n');
}
