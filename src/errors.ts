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

/** Why a deploy's signal fired: its time limit, or the pusher going away. */
export function abortMessage(signal: AbortSignal, timeLimit: string): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'TimeoutError' && reason.name !== 'AbortError') return reason.message;
  return `it ran past ${timeLimit}`;
}

/** The app, release or domain asked for does not exist. */
export class NotFoundError extends BerthError {}

/** Input berth will not take: a bad name, KEY=VALUE or number. */
export class InputError extends BerthError {}

/** The request clashes with the current state: the app exists, nothing to roll back to... */
export class ConflictError extends BerthError {}
