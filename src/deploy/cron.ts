import { nextRun, readAppJson, type CronEntry } from '../build/app-json.js';
import { ConflictError, describe, NotFoundError } from '../errors.js';
import type { OneOffResult, Runtime } from '../runtime/runtime.js';
import type { ServeOptions } from '../server/options.js';
import { CronStateFile, type CronJobState, type CronRunRecord, type CronState } from '../store/cron-state.js';
import type { AppRecord, Store } from '../store/store.js';
import { oneOffDeps, runOneOffTask } from './one-off.js';
import { releaseFiles } from './release-files.js';
import { Rounds } from './rounds.js';

export interface CronDeps {
  options: ServeOptions;
  runtime: Runtime;
  store: Store;
  log(line: string): void;
  /** The jobs of the app's live release (the app.json of its commit, or of its image); a test gives its own. */
  readJobs?(app: AppRecord): Promise<CronEntry[]>;
  now?(): number;
}

/** How often berth looks for a job that has come due. */
export const CRON_TICK_MS = 1000;
/** A run found due later than this was due while berth was down: it is recorded missed, not run late. */
export const CRON_LATE_MS = 30_000;

/** A job of the live release with its state, for cron:list. */
export interface CronJobView extends CronEntry, CronJobState {
  running: boolean;
}

/**
 * app.json's cron entries of each app's live release, run on schedule (UTC) in one-off
 * containers from the live image. One job never runs twice at once: a run due while the last
 * one runs is skipped and counted. The schedule state lives in the data dir, so a restart of
 * berth keeps it; a run due while berth was down is counted missed and the job runs next on its
 * schedule, however long berth was away (no storm of catch-up runs). A deploy that changes
 * app.json changes the jobs from its switch on.
 */
export class CronScheduler {
  private readonly rounds: Rounds;
  private readonly files: CronStateFile;
  private readonly states = new Map<string, CronState>();
  private readonly jobs = new Map<string, { release: number; jobs: CronEntry[] }>();
  private readonly running = new Map<string, Promise<OneOffResult>>();
  private saving = Promise.resolve();
  private readonly failing = new Set<string>();

  constructor(private readonly deps: CronDeps) {
    this.rounds = new Rounds(deps.log);
    this.files = new CronStateFile(deps.options.dataDir);
  }

  start(): void {
    this.rounds.every('running cron jobs', CRON_TICK_MS, () => this.tick());
  }

  async stop(): Promise<void> {
    await this.rounds.stop();
    await this.saving;
  }

  /** Starts every job that has come due, and records those skipped or missed. */
  async tick(): Promise<void> {
    for (const name of await this.deps.store.listApps()) {
      const app = await this.deps.store.getApp(name);
      if (!app?.live) this.forget(name);
      else if (!app.stopped) await this.tickApp(app).then(() => this.failing.delete(name), (error: unknown) => this.reportOnce(name, error));
    }
  }

  /** A lasting failure (the live commit's app.json unreadable) is logged once, not every second. */
  private reportOnce(app: string, error: unknown): void {
    if (this.failing.has(app)) return;
    this.failing.add(app);
    this.deps.log(`cron of ${app}: ${describe(error)}; its jobs do not run until this is fixed`);
  }

  /** The live release's jobs with their state; none before the first deploy. */
  async list(app: AppRecord): Promise<CronJobView[]> {
    if (!app.live) return [];
    const state = await this.stateOf(app.name);
    const jobs = await this.jobsOf(app);
    if (this.track(state, jobs)) await this.save(app.name);
    return jobs.map((job) => ({ ...job, ...state[job.id], running: this.running.has(key(app.name, job.id)) }));
  }

  /** cron:run: the job now, as the schedule would run it; refused while it runs. */
  async runNow(app: AppRecord, id: string, onLine: (line: string) => void | Promise<void>, signal: AbortSignal): Promise<OneOffResult> {
    const jobs = app.live ? await this.jobsOf(app) : [];
    const job = jobs.find((entry) => entry.id === id);
    if (!job) {
      const known = jobs.length ? `its jobs are ${jobs.map((entry) => entry.id).join(', ')}` : 'its live release has no cron entries in app.json';
      throw new NotFoundError(`${app.name} has no cron job ${id}: ${known}`, `berth cron:list ${app.name} shows each job's id`);
    }
    return this.run(app, job, 'manual', onLine, signal);
  }

  private async tickApp(app: AppRecord): Promise<void> {
    const now = this.now();
    const state = await this.stateOf(app.name);
    const jobs = await this.jobsOf(app);
    let changed = this.track(state, jobs);
    for (const job of jobs) {
      const jobState = state[job.id];
      const due = Date.parse(jobState.nextRunAt);
      if (now < due) continue;
      jobState.nextRunAt = nextRun(job.schedule, new Date(now)).toISOString();
      changed = true;
      if (now - due > CRON_LATE_MS) {
        jobState.missed += 1;
        jobState.lastMissedAt = new Date(due).toISOString();
        this.deps.log(`cron of ${app.name}: job ${job.id} (${job.command}) was due at ${jobState.lastMissedAt} while berth was not running: missed; it runs next at ${jobState.nextRunAt}`);
      } else if (this.running.has(key(app.name, job.id))) {
        jobState.skipped += 1;
        jobState.lastSkippedAt = new Date(due).toISOString();
        this.deps.log(`cron of ${app.name}: job ${job.id} (${job.command}) came due while its last run still runs: skipped`);
      } else {
        this.run(app, job, 'schedule', () => undefined).catch((error: unknown) => this.deps.log(`cron of ${app.name}: job ${job.id} did not start: ${describe(error)}`));
      }
    }
    if (changed) await this.save(app.name);
  }

  private async run(app: AppRecord, job: CronEntry, trigger: CronRunRecord['trigger'], onLine: (line: string) => void | Promise<void>, signal?: AbortSignal): Promise<OneOffResult> {
    const id = key(app.name, job.id);
    if (this.running.has(id)) throw new ConflictError(`cron job ${job.id} of ${app.name} is running now; berth never runs two copies of a job`, `wait for it to end (berth cron:list ${app.name})`);
    const state = (await this.stateOf(app.name))[job.id];
    const record: CronRunRecord = { name: '', startedAt: new Date(this.now()).toISOString(), trigger, exitCode: null, durationMs: null, stopped: null };
    const { options } = this.deps;
    const ran = runOneOffTask(oneOffDeps(this.deps), {
      app, release: app.live!.release, image: app.live!.image, role: 'cron', command: job.command, logGroup: `cron-${job.id}`,
      timeoutSeconds: options.runTimeoutSeconds, limitName: '--run-timeout', signal, onLine,
      onStart: (name) => {
        record.name = name;
        state.last = record;
        void this.save(app.name);
      },
    });
    this.running.set(id, ran);
    try {
      const result = await ran;
      Object.assign(record, { exitCode: result.exitCode, durationMs: result.durationMs, stopped: result.stopped?.message ?? null });
      return result;
    } catch (error) {
      Object.assign(record, { stopped: `did not run: ${describe(error)}` });
      throw error;
    } finally {
      this.running.delete(id);
      state.last = record;
      await this.save(app.name);
    }
  }

  /** Jobs new to the live release get their first run time; those it no longer has are forgotten. Says whether anything changed. */
  private track(state: CronState, jobs: CronEntry[]): boolean {
    let changed = false;
    for (const id of Object.keys(state)) {
      if (jobs.some((job) => job.id === id)) continue;
      delete state[id];
      changed = true;
    }
    for (const job of jobs) {
      if (state[job.id]) continue;
      state[job.id] = { nextRunAt: nextRun(job.schedule, new Date(this.now())).toISOString(), last: null, skipped: 0, lastSkippedAt: null, missed: 0, lastMissedAt: null };
      changed = true;
    }
    return changed;
  }

  /** Read once per app; a run berth was waiting for when it stopped is recorded as lost. */
  private async stateOf(app: string): Promise<CronState> {
    let state = this.states.get(app);
    if (state) return state;
    state = await this.files.read(app);
    for (const job of Object.values(state)) {
      if (job.last && job.last.exitCode === null && !job.last.stopped) job.last.stopped = 'berth stopped while it ran; its container was removed when berth started again';
    }
    this.states.set(app, state);
    return state;
  }

  private async jobsOf(app: AppRecord): Promise<CronEntry[]> {
    const live = app.live!;
    const cached = this.jobs.get(app.name);
    // By release: every release deployed from an image has the same (empty) commit.
    if (cached?.release === live.release) return cached.jobs;
    const jobs = this.deps.readJobs ? await this.deps.readJobs(app) : (await readAppJson(releaseFiles(this.deps.store, this.deps.runtime, app.name, live))).cron;
    this.jobs.set(app.name, { release: live.release, jobs });
    return jobs;
  }

  /** An app with no live release (destroyed, or created again under its name) starts its jobs afresh. */
  private forget(app: string): void {
    this.states.delete(app);
    this.jobs.delete(app);
  }

  private save(app: string): Promise<void> {
    const state = this.states.get(app) ?? {};
    this.saving = this.saving.then(() => this.files.write(app, state)).catch((error: unknown) => this.deps.log(`cron of ${app}: could not record its jobs' state: ${describe(error)}`));
    return this.saving;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }
}

function key(app: string, id: string): string {
  return `${app}/${id}`;
}
