#!/usr/bin/env node
import { BerthError, describe, InputError, UsageError } from '../errors.js';
import { resolveServeOptions, serveHelp } from '../server/options.js';
import { BERTH_VERSION } from '../paths.js';
import { CliError, EXIT } from './client.js';
import { makeInvocation } from './arguments.js';
import type { Command } from './command.js';
import { commandHelp, commandList, generalHelp } from './help.js';
import { COMMAND_NAMES, findCommand } from './registry.js';
import { closestCommand } from './suggest.js';

async function runServe(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(serveHelp());
    return;
  }
  const options = resolveServeOptions(argv);
  // Loaded only here: the client's commands need none of the server's modules (Docker, git, nginx).
  const { serve } = await import('../server/serve.js');
  const server = await serve(options);
  // nginx keeps serving after berth exits: only the push server stops here.
  const stop = (signal: string) => {
    process.stdout.write(`[berth] ${signal}: stopping the push server; nginx and the apps keep running\n`);
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

async function runCommand(command: Command, argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(commandHelp(command));
    return;
  }
  // `berth logs -f APP | head` closes the pipe early: the reader is done, berth has not failed.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  await command.run(makeInvocation(command, argv));
}

function printHelp(topic: string | undefined): void {
  if (topic === undefined || topic === 'help') return console.log(generalHelp());
  if (topic === 'serve') return console.log(serveHelp());
  const command = findCommand(topic);
  if (!command) throw unknownCommand(topic);
  console.log(commandHelp(command));
}

function unknownCommand(name: string): InputError {
  const suggestion = closestCommand(name, COMMAND_NAMES);
  return new UsageError(`unknown command "${name}"${suggestion ? `; did you mean "berth ${suggestion}"?` : ''}\n\n${commandList()}`);
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  switch (name) {
    case 'serve':
      return runServe(rest);
    case undefined:
    case '--help':
    case '-h':
      return printHelp(undefined);
    case 'help':
      return printHelp(rest[0]);
    case '--version':
    case '-v':
    case 'version':
      return console.log(`berth ${BERTH_VERSION}`);
  }
  const command = findCommand(name);
  if (!command) throw unknownCommand(name);
  await runCommand(command, rest);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof InputError) return EXIT.usage;
  return EXIT.failed;
}

/** With --json a failure is JSON on stdout too, so a script reads one format whatever happens. */
function report(error: unknown, json: boolean): void {
  const message = describe(error);
  const hint = error instanceof BerthError ? error.hint : undefined;
  if (json) console.log(JSON.stringify(hint ? { error: message, hint } : { error: message }));
  else console.error(`berth: ${message}${hint ? `\n       ${hint}` : ''}`);
}

const argv = process.argv.slice(2);
main(argv).catch((error: unknown) => {
  report(error, argv[0] !== 'serve' && argv.includes('--json'));
  process.exit(exitCodeFor(error));
});
