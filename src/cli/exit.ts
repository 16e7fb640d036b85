/** How the berth client ends: its exit status tells a script what happened. */
import { BerthError } from '../errors.js';

/** What berth's exit status tells a script; listed in `berth help` and docs/cli.md. */
export const EXIT = { failed: 1, usage: 2, unreachable: 3, notFound: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure that knows the exit status it ends the client with. */
export class CliError extends BerthError {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    hint?: string,
  ) {
    super(message, hint);
    this.name = 'CliError';
  }
}
