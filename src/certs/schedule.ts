import { describe } from '../errors.js';
import type { Certificates } from './certificates.js';

/** The schedule looks again at least this often, so a clock that jumps or a timer that slept is caught up with. */
export const LONGEST_WAIT_MS = 60 * 60 * 1000;

/**
 * Runs the certificates' rounds: at start, whenever something changed (a domain, a failure), and
 * then at the moment the next renewal or retry is due, never two rounds at a time.
 */
export class RenewalSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly certificates: Pick<Certificates, 'round' | 'nextDueAt' | 'onChange'>,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    certificates.onChange(() => this.soon());
  }

  start(): void {
    this.soon();
  }

  /** A round at once, or right after the one that runs. */
  soon(): void {
    if (this.running) this.again = true;
    else this.arm(0);
  }

  /** No round starts after this; resolves when the one running has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private arm(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.run(), Math.max(0, Math.min(delayMs, LONGEST_WAIT_MS)));
    this.timer.unref();
  }

  private run(): void {
    this.running = this.certificates
      .round()
      .then(() => this.certificates.nextDueAt())
      .catch((error: unknown) => {
        this.log(`renewing certificates failed: ${describe(error)}; trying again within the hour`);
        return undefined;
      })
      .then((next) => {
        this.running = undefined;
        const again = this.again;
        this.again = false;
        this.arm(again ? 0 : next === undefined ? LONGEST_WAIT_MS : next - this.now());
      });
  }
}
