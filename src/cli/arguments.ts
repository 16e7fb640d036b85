/** A command line split into positional arguments and flags, checked against the command's usage. */
import { readCommandLine, type OptionValues } from '../command-line.js';
import { TOKEN_FLAG_REFUSED } from '../credentials.js';
import { UsageError } from '../errors.js';
import { Client, resolveConnection } from './client.js';
import { GLOBAL_FLAGS, usageOf, type Command, type Invocation } from './command.js';

function isOptional(arg: string): boolean {
  return arg.startsWith('[');
}

function isRepeated(arg: string): boolean {
  return /\.\.\.\]?$/.test(arg);
}

/**
 * Splits argv into positional arguments and flags and checks both against the command's usage.
 * Flags may come anywhere after the command; `--` ends them.
 */
export function parseArguments(command: Command, argv: string[]): { args: string[]; flags: Map<string, string | true> } {
  const { values, positionals } = readCommandLine(argv, { command: command.name, options: [...(command.flags ?? []), ...GLOBAL_FLAGS], allowPositionals: true, refused: [TOKEN_FLAG_REFUSED] });
  checkArity(command, positionals);
  return { args: positionals, flags: flagsByLongName(values) };
}

/** By long name with its dashes, in the order first given; a switch is true, a flag given twice keeps its last value. */
function flagsByLongName(values: OptionValues): Map<string, string | true> {
  return new Map(Object.entries(values).map(([name, value]) => [`--${name}`, typeof value === 'string' ? value : true]));
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
    client: () => (client ??= new Client(resolveConnection({ url: stringFlag(flags, '--url'), tokenFile: stringFlag(flags, '--token-file') }))),
  };
}

export function stringFlag(flags: Map<string, string | true>, name: string): string | undefined {
  const value = flags.get(name);
  return typeof value === 'string' ? value : undefined;
}
