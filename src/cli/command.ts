/** What a command of the berth client is: its usage, its help and what it runs. */
import type { CommandLineOption } from '../command-line.js';
import { DEFAULT_URL, type Client } from './client.js';

export interface Flag extends CommandLineOption {
  help: string;
}

export interface Command {
  name: string;
  /** Positional arguments in usage notation: `APP`, `[RELEASE]` (optional), `KEY=VALUE...` (one or more), `[TYPE=N...]`. */
  args: string[];
  flags?: Flag[];
  summary: string;
  example: string;
  run(invocation: Invocation): Promise<void>;
}

/** The commands of one topic, listed together under their title in `berth help`. */
export interface CommandGroup {
  title: string;
  commands: Command[];
}

export interface Invocation {
  args: string[];
  /** Given flags by their long name with its dashes (`--lines`); a switch maps to true. */
  flags: Map<string, string | true>;
  json: boolean;
  /** Made on first use, so --help and argument errors need no token. */
  client(): Client;
}

export const GLOBAL_FLAGS: Flag[] = [
  { name: 'url', value: 'URL', help: `berth server (env BERTH_URL; default: the one of berth login, else the berth of this machine, else ${DEFAULT_URL})` },
  { name: 'token-file', value: 'FILE', help: 'file holding the token (env BERTH_TOKEN_FILE; or set BERTH_TOKEN)' },
  { name: 'json', help: 'print the raw JSON result instead of text' },
  { name: 'help', short: 'h', help: 'show the usage of the command and an example' },
];

/** A command that takes the app alone, as most do: `berth NAME APP`. */
export function appCommand(name: string, summary: string, run: (invocation: Invocation, app: string) => Promise<void>): Command {
  return { name, args: ['APP'], summary, example: `berth ${name} myapp`, run: (invocation) => run(invocation, invocation.args[0]) };
}

/** `-n|--lines N` in a usage line, `-n, --lines N` in a list of options. */
export function flagLabel(flag: Flag, betweenNames: '|' | ', '): string {
  return `${flag.short ? `-${flag.short}${betweenNames}` : ''}--${flag.name}${flag.value ? ` ${flag.value}` : ''}`;
}

export function usageOf(command: Command): string {
  const flags = (command.flags ?? []).map((flag) => `[${flagLabel(flag, '|')}]`);
  return [command.name, ...command.args, ...flags].join(' ');
}
