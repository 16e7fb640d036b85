import { describe, timeLimit } from '../errors.js';
import { DeployOutput } from '../log/output.js';
import type { ContainerSummary } from '../runtime/runtime.js';
import { containerRecordOf, type Scheduler } from '../runtime/scheduler.js';
import { appPort } from '../model/app.js';
import type { AppRecord, ContainerRecord } from '../store/store.js';
import { releaseFiles } from './release-files.js';
import { routeLiveRelease, type ReconcilerDeps } from './reconcile.js';
import { checkServedRelease } from './run.js';

/** A replacement that failed its checks is checked again this long after, not on every round. */
const RECHECK_FAILED_MS = 30_000;

/**
 * A swarm app's live release is its services' running tasks, which change without berth: a node
 * dies and Swarm places its tasks elsewhere. The edge stops routing to a task as soon as the
 * engine reports it gone (its node down or unreachable, the task ended); a task Swarm placed
 * since is checked (check-deploy, the release's own CHECKS) before the edge routes to it.
 * A replacement that fails its checks is tried again on the next round, never routed.
 */
export class SwarmFollower {
  /** Replacements that failed their checks, by container id, and when: reported once, checked again after a while. */
  private readonly failed = new Map<string, number>();

  constructor(private readonly deps: ReconcilerDeps) {}

  /** Apps whose swarm did not answer last time: said once, so that one app's swarm never stops the round for the others. */
  private readonly unanswered = new Set<string>();

  async follow(app: AppRecord, scheduler: Scheduler): Promise<void> {
    const live = app.live!;
    let found: ContainerSummary[];
    try {
      found = await scheduler.appContainers(app.name);
    } catch (error) {
      if (!this.unanswered.has(app.name)) this.deps.log(`${app.name}: the swarm does not answer (${describe(error)}); the edge keeps routing to the containers it had, and berth asks again every second`);
      this.unanswered.add(app.name);
      return;
    }
    if (this.unanswered.delete(app.name)) this.deps.log(`${app.name}: the swarm answers again`);
    const running = found.filter((c) => c.release === live.release && c.state === 'running');
    const runningIds = new Set(running.map((c) => c.id));
    const staying = live.containers.filter((c) => runningIds.has(c.id));
    const known = new Set(live.containers.map((c) => c.id));
    const arrived = running.filter((c) => !known.has(c.id)).map((c) => containerRecordOf(c, appPort(app.config)));
    const lost = live.containers.filter((c) => !runningIds.has(c.id));
    if (lost.length) await this.drop(app, staying, lost);
    const checked = await this.checked(app, arrived);
    if (checked.length) await this.add(app, [...staying, ...checked]);
  }

  private async drop(app: AppRecord, staying: ContainerRecord[], lost: ContainerRecord[]): Promise<void> {
    this.deps.log(`${app.name}: ${lost.map((c) => c.name).join(', ')} of release ${app.live!.release} stopped running on the swarm (a node down, or the task ended); the edge no longer routes to ${lost.length === 1 ? 'it' : 'them'}${staying.length ? '' : ': nothing of the release runs until Swarm places replacements'}`);
    await routeLiveRelease(this.deps, app, staying);
    app.live!.containers = staying;
  }

  private async add(app: AppRecord, containers: ContainerRecord[]): Promise<void> {
    await routeLiveRelease(this.deps, app, containers);
    app.live!.containers = containers;
  }

  /** The new tasks that pass the live release's checks, each reported. */
  private async checked(app: AppRecord, arrived: ContainerRecord[]): Promise<ContainerRecord[]> {
    const passed: ContainerRecord[] = [];
    for (const container of arrived) {
      if (Date.now() - (this.failed.get(container.id) ?? 0) < RECHECK_FAILED_MS) continue;
      const output = new DeployOutput({ write: (line) => this.deps.log(`${app.name}: ${line}`) }, false);
      const signal = timeLimit(this.deps.options.deployTimeoutSeconds, `checking ${container.name}`, '--deploy-timeout');
      const files = releaseFiles(this.deps.store, this.deps.runtime, app.name, app.live!);
      try {
        if (app.checks !== 'disabled') await checkServedRelease(this.deps, app, app.live!, files, output, signal, [container]);
        this.deps.log(`${app.name}: ${container.name}, placed by Swarm for release ${app.live!.release} at ${container.ip}:${container.port}, passed its checks; the edge routes to it`);
        this.failed.delete(container.id);
        passed.push(container);
      } catch (error) {
        if (!this.failed.has(container.id)) this.deps.log(`${app.name}: ${container.name}, placed by Swarm, failed its checks and is not routed: ${describe(error)}`);
        this.failed.set(container.id, Date.now());
      }
    }
    return passed;
  }
}
