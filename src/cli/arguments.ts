/** A command line split into positional arguments and flags, checked against the command's usage. */
import { UsageError } from '../errors.js';
import { Client, resolveConnection } from './client.js';
import { GLOBAL_FLAGS, usageOf, type Command, type Invocation } from './command.js';

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

export function stringFlag(flags: Map<string, string | true>, name: string): string | undefined {
  const value = flags.get(name);
  return typeof value === 'string' ? value : undefined;
}
