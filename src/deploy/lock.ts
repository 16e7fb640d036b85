export interface LockHolder {
  description: string;
  since: number;
}

interface Waiter {
  resolve: () => void;
}

/**
 * What app operations that change host names hold besides their app's lock: host names are
 * unique across apps. No app can be named this (app names start with a letter).
 */
export const HOST_NAMES_LOCK = '*host-names';

/** One deploy at a time per app; different apps never wait for each other. */
export class AppLocks {
  private readonly held = new Map<string, { holder: LockHolder; waiters: Waiter[] }>();

  /** Resolves with the unlock function once the app is free; onWait fires once if it is busy. */
  async acquire(app: string, holder: LockHolder, onWait: (current: LockHolder, position: number) => void): Promise<() => void> {
    let entry = this.held.get(app);
    if (entry) {
      const current = entry;
      onWait(current.holder, current.waiters.length + 1);
      await new Promise<void>((resolve) => current.waiters.push({ resolve }));
      entry = current;
      entry.holder = holder;
    } else {
      entry = { holder, waiters: [] };
      this.held.set(app, entry);
    }
    return this.unlocker(app, entry);
  }

  private unlocker(app: string, owned: { holder: LockHolder; waiters: Waiter[] }): () => void {
    let unlocked = false;
    return () => {
      if (unlocked) return;
      unlocked = true;
      const next = owned.waiters.shift();
      if (next) next.resolve();
      else this.held.delete(app);
    };
  }

  /** The unlock function when the app is free right now; undefined (and no waiting) when it is busy. */
  tryAcquire(app: string, holder: LockHolder): (() => void) | undefined {
    if (this.held.has(app)) return undefined;
    const entry = { holder, waiters: [] as Waiter[] };
    this.held.set(app, entry);
    return this.unlocker(app, entry);
  }
}
