import type { ServeOptions } from '../server/options.js';
import { deleteReleaseRefs, listReleaseRefs } from '../git/release-refs.js';
import { formatBytes } from '../model/bytes.js';
import type { Runtime } from '../runtime/runtime.js';
import type { AppRecord, ReleaseRecord, Store } from '../store/store.js';
import type { AppLocks } from './lock.js';
import { Rounds } from './rounds.js';

export interface HousekeepingDeps {
  options: ServeOptions;
  runtime: Runtime;
  store: Store;
  locks: AppLocks;
  log(line: string): void;
}

/** How often berth looks for what has piled up on disk; the first look is at start. */
export const HOUSEKEEPING_INTERVAL_MS = 60 * 60 * 1000;

const SECONDS_PER_DAY = 24 * 60 * 60;

/**
 * What piles up on disk while berth runs, pruned on a schedule: the build cache that failed
 * builds leave (dangling layers), once unused for --prune-build-cache-after days; release records
 * beyond the newest --keep-deploy-logs; and the refs that keep the commits of releases nothing
 * can run again. A release that serves or whose image is kept (restart, rollback) keeps its
 * record and its commit.
 */
export class Housekeeping {
  private readonly rounds: Rounds;

  constructor(
    private readonly deps: HousekeepingDeps,
    private readonly intervalMs = HOUSEKEEPING_INTERVAL_MS,
  ) {
    this.rounds = new Rounds(deps.log);
  }

  start(): void {
    this.rounds.every('pruning the build cache', this.intervalMs, () => this.pruneBuildCache())();
    this.rounds.every('pruning old releases', this.intervalMs, () => this.pruneReleases())();
  }

  stop(): Promise<void> {
    return this.rounds.stop();
  }

  private async pruneBuildCache(): Promise<void> {
    const days = this.deps.options.pruneBuildCacheAfterDays;
    if (days === 0) return;
    const freed = await this.deps.runtime.pruneBuildCache(days * SECONDS_PER_DAY);
    if (freed > 0) this.deps.log(`pruned the build cache unused for ${days} day(s): ${formatBytes(freed)} freed`);
  }

  /** An app busy with a deploy or another operation is left for the next round. */
  private async pruneReleases(): Promise<void> {
    const { store, locks } = this.deps;
    for (const name of await store.listApps()) {
      const unlock = locks.tryAcquire(name, { description: 'pruning old releases', since: Date.now() });
      if (!unlock) continue;
      try {
        const app = await store.getApp(name);
        if (app) await this.pruneAppReleases(app);
      } finally {
        unlock();
      }
    }
  }

  private async pruneAppReleases(app: AppRecord): Promise<void> {
    const { store, runtime, options, log } = this.deps;
    const images = new Set(await runtime.appImageTags(app.name));
    const releases = await store.listReleases(app.name);
    const runnable = (release: ReleaseRecord) => release.id === app.live?.release || (release.image !== undefined && images.has(release.image));
    const records = releases.filter((release, newest) => newest >= options.keepDeployLogs && !runnable(release)).map((release) => release.id);
    await store.deleteReleases(app.name, records);
    const kept = new Set([...releases.filter(runnable).map((release) => release.id), ...(app.live ? [app.live.release] : [])]);
    const refs = (await listReleaseRefs(store.repoDir(app.name))).filter((release) => !kept.has(release));
    await deleteReleaseRefs(store.repoDir(app.name), refs);
    if (records.length) log(`${app.name}: pruned the records of ${records.length} old release(s) (${describeIds(records)})`);
    if (refs.length) log(`${app.name}: let go of the commits of ${refs.length} release(s) that can no longer run (${describeIds(refs)}); git's gc removes them in time`);
  }
}

function describeIds(ids: number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  return sorted.length > 5 ? `${sorted.slice(0, 5).join(', ')} and ${sorted.length - 5} more` : sorted.join(', ');
}
