#!/usr/bin/env node
import { resolveServeOptions, serveHelp, UsageError } from '../config.js';
import { BerthError, describe } from '../errors.js';
import { serve } from '../server/serve.js';

const USAGE = `Usage: berth <command> [options]

Commands:
  serve      run the git push server (see berth serve --help)
  help       show this help`;

async function runServe(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(serveHelp());
    return;
  }
  const options = resolveServeOptions(argv);
  const server = await serve(options);
  // nginx keeps serving after berth exits: only the push server stops here.
  const stop = (signal: string) => {
    process.stdout.write(`[berth] ${signal}: stopping the push server; nginx and the apps keep running\n`);
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return runServe(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`berth: ${error.message}`);
  else if (error instanceof BerthError) console.error(`berth: ${error.message}${error.hint ? `\n       ${error.hint}` : ''}`);
  else console.error(`berth: ${describe(error)}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
