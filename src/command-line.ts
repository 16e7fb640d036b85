/**
 * Command lines read by node:util parseArgs in strict mode, for the berth client's commands and
 * for berth serve alike, with berth's errors: each names the argument at fault as help shows it.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describe, UsageError } from './errors.js';

export interface CommandLineOption {
  /** The long name without its dashes: `lines` for --lines. */
  name: string;
  /** One letter: `n` for -n. */
  short?: string;
  /** Names the option's value in help and errors (`N`); an option without one is a switch. */
  value?: string;
  /** Given again, it adds a value instead of replacing it. */
  multiple?: boolean;
}

export interface CommandLineRules {
  /** Named in errors, which point at `berth COMMAND --help`. */
  command: string;
  options: CommandLineOption[];
  allowPositionals: boolean;
  /** `--no-NAME` turns the switch NAME off. */
  allowNegative?: boolean;
  /** Options berth will not take, each answered with its own message (what to use instead). */
  refused?: { name: string; message: string }[];
}

export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export function readCommandLine(args: string[], rules: CommandLineRules): { values: OptionValues; positionals: string[] } {
  refuseOptions(args, rules.refused ?? []);
  const config: ParseArgsConfig = {
    args: withValuesAttached(args, rules.options),
    options: Object.fromEntries(rules.options.map((option) => [option.name, parseArgsOption(option)])),
    allowPositionals: rules.allowPositionals,
    allowNegative: rules.allowNegative ?? false,
    strict: true,
  };
  try {
    const { values, positionals } = parseArgs(config);
    return { values, positionals };
  } catch (error) {
    throw usageError(error, config, rules);
  }
}

function refuseOptions(args: string[], refused: { name: string; message: string }[]): void {
  const options = args.slice(0, args.includes('--') ? args.indexOf('--') : undefined);
  const found = refused.find(({ name }) => options.some((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`)));
  if (found) throw new UsageError(found.message);
}

/** parseArgs refuses a `short` or `multiple` key that is present but undefined. */
function parseArgsOption(option: CommandLineOption): NonNullable<ParseArgsConfig['options']>[string] {
  return {
    type: option.value === undefined ? 'boolean' : 'string',
    ...(option.short === undefined ? {} : { short: option.short }),
    ...(option.multiple ? { multiple: true } : {}),
  };
}

/**
 * An option that takes a value takes the next argument, whatever it looks like: a generated
 * token may start with "-". Strict parseArgs calls such a value ambiguous, but not one given
 * with "=", so the value is attached.
 */
function withValuesAttached(args: string[], options: CommandLineOption[]): string[] {
  const attached: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') return [...attached, ...args.slice(i)];
    const option = options.find((o) => o.value !== undefined && (args[i] === `--${o.name}` || (o.short !== undefined && args[i] === `-${o.short}`)));
    attached.push(option && i + 1 < args.length ? `--${option.name}=${args[++i]}` : args[i]);
  }
  return attached;
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/**
 * parseArgs' errors (ERR_PARSE_ARGS_UNKNOWN_OPTION, ..._INVALID_OPTION_VALUE,
 * ..._UNEXPECTED_POSITIONAL) say what is wrong in words of their own; the tokens of a lenient
 * parse of the same arguments show which argument it is, so berth's message can name it.
 */
function usageError(error: unknown, config: ParseArgsConfig, rules: CommandLineRules): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return error;
  // Lenient about positionals too: parseArgs refuses them whenever allowPositionals is false.
  const { tokens = [] } = parseArgs({ ...config, strict: false, allowPositionals: true, tokens: true });
  const message = tokens.map((token) => fault(token, config.args ?? [], rules)).find((found) => found !== undefined);
  return new UsageError(message ?? `${describe(error)} ${seeHelp(rules)}`);
}

function seeHelp(rules: CommandLineRules): string {
  return `(see berth ${rules.command} --help)`;
}

/** What is wrong with one argument, if anything. */
function fault(token: Token, args: readonly string[], rules: CommandLineRules): string | undefined {
  if (token.kind === 'positional') return rules.allowPositionals ? undefined : `unexpected argument "${token.value}": berth ${rules.command} takes options only ${seeHelp(rules)}`;
  if (token.kind !== 'option') return undefined;
  const option = rules.options.find((o) => o.name === token.name || (rules.allowNegative && o.value === undefined && token.name === `no-${o.name}`));
  // A short option is named as typed, with the letters around it (-xf, -f=1).
  if (!option) return `unknown option ${token.rawName.startsWith('--') ? token.rawName : args[token.index]} for ${rules.command} ${seeHelp(rules)}`;
  if (option.value !== undefined && token.value === undefined) return `--${option.name} needs a value (${option.value})`;
  // Only a value found after a group of short options (-fn -5) is left unattached.
  if (option.value !== undefined && !token.inlineValue && token.value?.startsWith('-')) {
    return `--${option.name} needs a value (${option.value}); if "${token.value}" is it, write --${option.name}=${token.value}`;
  }
  if (option.value === undefined && token.value !== undefined) return `${token.rawName} takes no value`;
  return undefined;
}
