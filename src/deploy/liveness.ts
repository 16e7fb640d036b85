import { LocalScheduler } from '../runtime/local-scheduler.js';
import { attemptCheck, untilUp } from '../checks/attempt.js';
import type { CheckPlan, PlannedCheck } from '../checks/plan.js';
import { readCheckPlan } from '../checks/runner.js';
import { describe } from '../errors.js';
import { releaseFiles } from './release-files.js';
import { appPort } from '../model/app.js';
import type { LivenessInfo } from '../model/api.js';
import type { ContainerHandle, SourceReader } from '../plugins/types.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ServeOptions } from '../server/options.js';
import type { AppRecord, ContainerRecord, Store } from '../store/store.js';
import type { AppLocks } from './lock.js';
import { Rounds } from './rounds.js';
import { containerHandle } from './run.js';

export interface LivenessDeps {
  options: ServeOptions;
  runtime: Runtime;
  store: Store;
  locks: AppLocks;
  log(line: string): void;
  /** A live release's files, where its app.json is read: its commit's or its image's (releaseFiles), unless a test says otherwise. */
  commit?(app: string, commit: string): SourceReader;
}

/** How often berth looks which liveness checks are due; each check runs every `wait` seconds of its own. */
export const LIVENESS_TICK_MS = 1000;

/** One live container and its liveness checks. */
interface Watched {
  app: string;
  record: ContainerRecord;
  checks: PlannedCheck[];
  /** Failures in a row, by check. */
  failures: number[];
  /** When each check is due next (ms since the epoch). */
  dueAt: number[];
  info: LivenessInfo;
  busy: boolean;
}

/**
 * app.json's liveness checks, run on the live containers while berth runs (Dokku's docker-local
 * scheduler ignores them): each check every `wait` seconds, `timeout` per attempt, from
 * `initialDelay` after the container started. A container that fails one `attempts` times in a
 * row is restarted through the engine (SIGTERM, --stop-timeout, start), under the app's lock
 * so it never races a deploy; the reconciler then follows it to its address, if it changed.
 */
export class LivenessMonitor {
  private readonly rounds: Rounds;
  private readonly watched = new Map<string, Watched>();
  private readonly plans = new Map<string, Promise<CheckPlan | undefined>>();
  private readonly running = new Set<Promise<void>>();
  private readonly controller = new AbortController();

  constructor(
    private readonly deps: LivenessDeps,
    private readonly tickMs = LIVENESS_TICK_MS,
  ) {
    this.rounds = new Rounds(deps.log);
  }

  start(): void {
    this.rounds.every('running liveness checks', this.tickMs, () => this.round())();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.rounds.stop();
    await Promise.all(this.running);
  }

  /** What `berth status` shows of a container: undefined when berth runs no liveness checks on it. */
  liveness(containerId: string): LivenessInfo | undefined {
    const watched = this.watched.get(containerId);
    return watched && { ...watched.info };
  }

  /** Finds the live containers with liveness checks, and starts each check that is due. */
  private async round(): Promise<void> {
    const seen = new Set<string>();
    const livePlans = new Set<string>();
    for (const name of await this.deps.store.listApps()) {
      const app = await this.deps.store.getApp(name);
      // Swarm apps: Swarm restarts a task that exits, and the reconciler checks replacements before routing to them.
      if (!app?.live || app.stopped || app.checks === 'disabled' || app.scheduler === 'swarm') continue;
      for (const record of app.live.containers) {
        livePlans.add(planKey(app, record.process));
        const watched = await this.watch(app, record);
        if (!watched) continue;
        seen.add(record.id);
        watched.record = record;
        this.runDue(watched);
      }
    }
    for (const id of this.watched.keys()) if (!seen.has(id)) this.watched.delete(id);
    for (const key of this.plans.keys()) if (!livePlans.has(key)) this.plans.delete(key);
  }

  private async watch(app: AppRecord, record: ContainerRecord): Promise<Watched | undefined> {
    const known = this.watched.get(record.id);
    if (known) return known;
    const checks = (await this.plan(app, record.process))?.liveness ?? [];
    if (checks.length === 0) return undefined;
    const watched: Watched = { app: app.name, record, checks, failures: checks.map(() => 0), dueAt: checks.map(() => 0), info: { state: 'waiting', failures: 0, restarts: 0, lastResult: null, lastCheckedAt: null }, busy: false };
    this.watched.set(record.id, watched);
    return watched;
  }

  /** The live release's plan for a process type, read once per release; one that cannot be read is logged and watched no further. */
  private plan(app: AppRecord, processType: string): Promise<CheckPlan | undefined> {
    const live = app.live!;
    const key = planKey(app, processType);
    let plan = this.plans.get(key);
    if (!plan) {
      const source = this.deps.commit?.(app.name, live.commit) ?? releaseFiles(this.deps.store, this.deps.runtime, app.name, live);
      plan = readCheckPlan({ source, commit: live.commit }, processType, appPort(app.config)).catch((error: unknown) => {
        this.deps.log(`${app.name}: cannot read the liveness checks of release ${live.release}: ${describe(error)}`);
        return undefined;
      });
      this.plans.set(key, plan);
    }
    return plan;
  }

  private runDue(watched: Watched): void {
    if (watched.busy || !watched.dueAt.some((due) => due <= Date.now())) return;
    watched.busy = true;
    const done = this.checkContainer(watched)
      .catch((error: unknown) => this.deps.log(`${watched.app}: liveness checks of ${watched.record.name} failed to run: ${describe(error)}`))
      .finally(() => {
        watched.busy = false;
        this.running.delete(done);
      });
    this.running.add(done);
  }

  /** Each due check once; the container is restarted as soon as one has failed `attempts` times in a row. */
  private async checkContainer(watched: Watched): Promise<void> {
    const container = containerHandle(new LocalScheduler(this.deps.runtime), watched.record);
    // Stopped or gone (a deploy retiring it, the reconciler starting it again): nothing to check now.
    const health = await container.health().catch(() => undefined);
    if (!health?.running) return;
    for (const [index, check] of watched.checks.entries()) {
      if (watched.dueAt[index] > Date.now()) continue;
      const delayMs = untilUp(health.startedAt, check.initialDelaySeconds);
      if (delayMs > 0) {
        watched.dueAt[index] = Date.now() + delayMs;
        continue;
      }
      if (await this.attempt(watched, container, index)) return;
    }
  }

  /** One attempt of one check; resolves true when it made berth restart the container. */
  private async attempt(watched: Watched, container: ContainerHandle, index: number): Promise<boolean> {
    const check = watched.checks[index];
    const result = await attemptCheck(container, check, this.controller.signal);
    if (this.controller.signal.aborted) return false;
    watched.dueAt[index] = Date.now() + check.waitSeconds * 1000;
    watched.failures[index] = result.ok ? 0 : watched.failures[index] + 1;
    const failures = Math.max(...watched.failures);
    watched.info = { ...watched.info, state: failures > 0 ? 'failing' : 'passing', failures, lastResult: `${check.label}: ${result.ok ? 'ok' : 'failed'}, ${result.summary}`, lastCheckedAt: new Date().toISOString() };
    if (result.ok && failures === 0) return false;
    if (!result.ok) this.deps.log(`${watched.app}: ${watched.record.name} failed its liveness check ${check.label} (${check.origin}) [${watched.failures[index]}/${check.attempts}]: ${result.summary}`);
    if (watched.failures[index] < check.attempts) return false;
    return this.restart(watched, check);
  }

  /** Under the app's lock: a deploy that holds it replaces the container anyway, and the restart is tried again once the check is due. */
  private async restart(watched: Watched, check: PlannedCheck): Promise<boolean> {
    const { runtime, locks, options, log } = this.deps;
    const unlock = locks.tryAcquire(watched.app, { description: `restarting ${watched.record.name} (liveness)`, since: Date.now() });
    if (!unlock) return false;
    watched.info = { ...watched.info, state: 'restarting' };
    log(`${watched.app}: restarting ${watched.record.name}: its liveness check ${check.label} failed ${check.attempts} time(s) in a row`);
    try {
      await runtime.stopContainer(watched.record.id, options.stopTimeoutSeconds);
      await runtime.restartContainer(watched.record.id);
    } catch (error) {
      watched.info = { ...watched.info, state: 'failing' };
      log(`${watched.app}: restarting ${watched.record.name} failed: ${describe(error)}; berth tries again when the check is next due`);
      return false;
    } finally {
      unlock();
    }
    watched.failures = watched.checks.map(() => 0);
    watched.dueAt = watched.checks.map(() => 0);
    watched.info = { ...watched.info, state: 'waiting', failures: 0, restarts: watched.info.restarts + 1 };
    log(`${watched.app}: restarted ${watched.record.name} (restart ${watched.info.restarts} by berth)`);
    return true;
  }
}

/** A plan depends on the live commit (its app.json and CHECKS), the process type and the app's port. */
function planKey(app: AppRecord, processType: string): string {
  // By release: every release deployed from an image has the same (empty) commit.
  return `${app.name}@${app.live!.release}:${processType}:${appPort(app.config)}`;
}
