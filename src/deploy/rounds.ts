import { describe } from '../errors.js';

/**
 * Work berth repeats while it runs (watching nginx, following containers, pruning the disk): each
 * kind in rounds that never overlap, a failure logged once until it works again.
 */
export class Rounds {
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly running = new Set<Promise<void>>();
  /** Kinds of round that failed last time, so a lasting failure (the engine down) is logged once. */
  private readonly failing = new Set<string>();

  constructor(private readonly log: (line: string) => void) {}

  /**
   * Runs `round` every intervalMs, never two at a time: a tick while one runs is skipped. The
   * function returned runs it now; asked while one runs, it runs once more right after.
   */
  every(what: string, intervalMs: number, round: () => Promise<void>): () => void {
    let busy = false;
    let again = false;
    const run = (queue: boolean) => {
      if (this.stopped) return;
      if (busy) {
        again ||= queue;
        return;
      }
      busy = true;
      const done = this.guarded(what, round).finally(() => {
        busy = false;
        this.running.delete(done);
        if (again) {
          again = false;
          run(false);
        }
      });
      this.running.add(done);
    };
    const timer = setInterval(() => run(false), intervalMs);
    timer.unref();
    this.timers.push(timer);
    return () => run(true);
  }

  /** No round starts after this; resolves when those running have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all(this.running);
  }

  private async guarded(what: string, round: () => Promise<void>): Promise<void> {
    try {
      await round();
      if (this.failing.delete(what)) this.log(`${what} works again`);
    } catch (error) {
      if (!this.failing.has(what)) this.log(`${what} failed: ${describe(error)}; retrying`);
      this.failing.add(what);
    }
  }
}
