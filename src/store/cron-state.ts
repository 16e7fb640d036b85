import path from 'node:path';
import { readJson, writeFileAtomic } from './atomic.js';

/** One run of a cron job as cron:list shows it; exitCode null while it runs. */
export interface CronRunRecord {
  name: string;
  startedAt: string;
  /** schedule: it came due; manual: berth cron:run. */
  trigger: 'schedule' | 'manual';
  exitCode: number | null;
  durationMs: number | null;
  /** Why berth killed it or lost it (its time limit; berth stopped while it ran). */
  stopped: string | null;
}

/** What berth keeps of a job between runs and restarts, by the job's id. */
export interface CronJobState {
  /** When it runs next, UTC; a run due while berth was down is missed, never caught up. */
  nextRunAt: string;
  last: CronRunRecord | null;
  /** Runs that came due while the last one still ran, and were not started. */
  skipped: number;
  lastSkippedAt: string | null;
  /** Runs that came due while berth was not running. */
  missed: number;
  lastMissedAt: string | null;
}

export type CronState = Record<string, CronJobState>;

/** DATA_DIR/apps/APP/cron.json: the app's jobs' schedule state, written whole and atomically. */
export class CronStateFile {
  constructor(private readonly dataDir: string) {}

  async read(app: string): Promise<CronState> {
    return (await readJson<CronState>(this.file(app))) ?? {};
  }

  async write(app: string, state: CronState): Promise<void> {
    await writeFileAtomic(this.file(app), JSON.stringify(state, null, 2));
  }

  private file(app: string): string {
    return path.join(this.dataDir, 'apps', app, 'cron.json');
  }
}
