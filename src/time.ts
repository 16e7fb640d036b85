/** Resolves after ms, or at once when the signal fires: a wait that a deadline or a cancelled push cuts short. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * Runs `work` until it succeeds, waiting the given delays between attempts (one attempt more than
 * there are delays); the last attempt's error is thrown. For writes that a full disk or a busy
 * file system may fail once but that must not be given up at the first error.
 */
export async function retried<T>(work: () => Promise<T>, delaysMs: number[]): Promise<T> {
  for (const delay of delaysMs) {
    try {
      return await work();
    } catch {
      await sleep(delay);
    }
  }
  return work();
}
