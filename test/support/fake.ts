interface PlannedFailure {
  error: Error;
  /** Calls to let through before the failing one. */
  skip: number;
  always: boolean;
}

/**
 * What the fakes share: every call is recorded, so a test can assert what was asked (what was
 * removed, what the proxy was told), and any method can be told to fail.
 */
export class Fake<Method extends string> {
  readonly calls: { method: Method; args: unknown[] }[] = [];
  private readonly planned = new Map<Method, PlannedFailure>();

  /** The `call`-th call of `method` from now (1: the next one) rejects with `error`; with `always`, so does every later one. */
  fail(method: Method, error: Error, { call = 1, always = false } = {}): void {
    this.planned.set(method, { error, skip: call - 1, always });
  }

  /** The arguments of every call of `method`, oldest first. */
  argsOf(method: Method): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  forgetCalls(): void {
    this.calls.length = 0;
  }

  /** Records the call, then throws when a failure is planned for it. */
  protected enter(method: Method, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const failure = this.planned.get(method);
    if (!failure) return;
    if (failure.skip > 0) {
      failure.skip -= 1;
      return;
    }
    if (!failure.always) this.planned.delete(method);
    throw failure.error;
  }
}
