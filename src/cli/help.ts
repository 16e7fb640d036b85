/** The text of `berth help` and `berth COMMAND --help`. */
import { flagLabel, GLOBAL_FLAGS, usageOf, type Command, type Flag } from './command.js';
import { COMMAND_GROUPS } from './registry.js';

/** serve, help and version are run by main.ts itself, but listed with the rest. */
const BUILT_IN = {
  title: 'Server',
  lines: [
    ['serve [options]', 'run the berth server on this machine (berth serve --help for its options)'],
    ['help [COMMAND]', 'show this help, or the help of one command'],
    ['version', 'print the version of this berth command (also --version)'],
  ] as Array<[string, string]>,
};

function flagLines(flags: Flag[]): string[] {
  const labels = flags.map((flag) => flagLabel(flag, ', '));
  const width = Math.max(...labels.map((label) => label.length));
  return flags.map((flag, i) => `  ${labels[i].padEnd(width)}  ${flag.help}`);
}

/** Every command by group, for `berth help` and the unknown-command error. */
export function commandList(): string {
  const entries = [
    ...COMMAND_GROUPS.map(({ title, commands }) => ({ title, lines: commands.map((c): [string, string] => [usageOf(c), c.summary]) })),
    BUILT_IN,
  ];
  const width = Math.max(...entries.flatMap((entry) => entry.lines.map(([usage]) => usage.length)));
  return entries.map(({ title, lines }) => [title, ...lines.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`)].join('\n')).join('\n\n');
}

export function generalHelp(): string {
  return [
    'Usage: berth <command> [arguments] [options]',
    '',
    "Manages the apps of a berth server through its admin API. Point it at the server with berth login URL (it checks the server's certificate, pins it when no CA vouches for it, and remembers the token given), or with BERTH_URL and BERTH_TOKEN (or --url and --token-file FILE; the token is never taken on the command line). BERTH_CA names a PEM file of the CA to trust instead of Node's list.",
    '',
    commandList(),
    '',
    'Options of every command except serve',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'Exit codes',
    '  0  success',
    '  1  berth refused or the operation failed (a failed deploy, restart or check, a conflict such as an app that already exists)',
    '  2  usage error: bad arguments (here or as judged by berth), or no token',
    '  3  berth unreachable, its certificate could not be verified (nothing was sent), or the token was rejected',
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
