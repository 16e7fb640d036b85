/** A failure a user can act on: it names the app, the stage and what to do next. */
export class BerthError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'BerthError';
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * A signal that fires after `seconds` with an error naming the limit, so whatever it stops can
 * tell the pusher which limit it ran past and which flag raises it.
 */
export function timeLimit(seconds: number, what: string, flag?: string): AbortSignal {
  const controller = new AbortController();
  const hint = flag ? `make it faster, or raise ${flag}` : 'make it faster';
  const timer = setTimeout(() => controller.abort(new BerthError(`${what} ran past its time limit of ${seconds} s`, hint)), seconds * 1000);
  timer.unref();
  return controller.signal;
}

/** Why a signal fired (a time limit, the pusher going away), as the error to fail with. */
export function stopReason(signal: AbortSignal): BerthError {
  const reason: unknown = signal.reason;
  return reason instanceof BerthError ? reason : new BerthError(`stopped: ${describe(reason)}`);
}

export function throwIfStopped(signal: AbortSignal): void {
  if (signal.aborted) throw stopReason(signal);
}

/** The app, release or domain asked for does not exist. */
export class NotFoundError extends BerthError {}

/** Input berth will not take: a bad name, KEY=VALUE or number. */
export class InputError extends BerthError {}

/** Command-line arguments berth will not take: an unknown option, a missing value. */
export class UsageError extends InputError {}

/** The request clashes with the current state: the app exists, nothing to roll back to... */
export class ConflictError extends BerthError {}
