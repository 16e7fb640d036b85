import type { ServeOptions } from '../server/options.js';
import { describe } from '../errors.js';
import { formatDuration, type Logger } from '../log/output.js';
import type { ReverseProxy } from '../proxy/reverse-proxy.js';
import type { Runtime } from '../runtime/runtime.js';
import { containerRecordOf, type Schedulers } from '../runtime/scheduler.js';
import { byScheduler, everyAppContainer } from '../runtime/schedulers.js';
import type { ContainerRecord, Store } from '../store/store.js';
import { appPort } from '../model/app.js';
import type { DeployRun, PipelineDeps } from './run.js';
import { Stage } from './stages.js';

/** What served before the switch and now has to drain and go. */
export interface RetiringRelease {
  /** Undefined when only containers left by earlier releases go. */
  release: number | undefined;
  containers: ContainerRecord[];
  /** Names of those containers that an earlier release left (its retirement failed, or berth stopped). */
  leftBehind?: string[];
}

interface RetireRequest {
  options: ServeOptions;
  runtime: Runtime;
  schedulers?: Schedulers;
  proxy: ReverseProxy;
  store: Store;
  app: string;
  /** A rollback runs an older release's image: that tag must stay. */
  liveImage: string;
  retiring: RetiringRelease | undefined;
  logger: Logger;
}

/** After the switch a retirement problem is reported but never undoes the deploy. */
export class RetireStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun, previous: RetiringRelease | undefined): Promise<void> {
    await run.timed(Stage.Retire, async () => {
      try {
        const retiring = await this.withLeftovers(run, previous);
        if (retiring) await run.fire('pre-retire');
        await retireRelease({ ...this.deps, app: run.app.name, liveImage: run.release.image!, retiring, logger: run.output });
        await this.markRetired(run);
      } catch (error) {
        run.output.warn(`Retiring the previous release did not finish: ${describe(error)}. The new release is live; berth will clean up on the next deploy.`);
      }
    });
  }

  /** Containers an earlier retirement left behind (it failed, or berth stopped) drain and go with the previous release. */
  private async withLeftovers(run: DeployRun, previous: RetiringRelease | undefined): Promise<RetiringRelease | undefined> {
    const keep = new Set([...run.containers, ...(previous?.containers ?? [])].map((c) => c.id));
    const port = appPort(run.app.config);
    // Never the new release's: on a swarm, a task Swarm placed since the start (a node died) is the new release's too.
    const leftovers = (await everyAppContainer(this.deps, run.app)).filter((c) => !keep.has(c.id) && c.release !== run.release.id).map((c) => containerRecordOf(c, port));
    if (leftovers.length === 0) return previous;
    return { release: previous?.release, containers: [...(previous?.containers ?? []), ...leftovers], leftBehind: leftovers.map((c) => c.name) };
  }

  /** Every release recorded live, but the new one, has stopped serving. */
  private async markRetired(run: DeployRun): Promise<void> {
    const { store } = this.deps;
    for (const release of await store.listReleases(run.app.name)) {
      if (release.status === 'live' && release.id !== run.release.id) await store.saveRelease(run.app.name, { ...release, status: 'retired' });
    }
  }
}

/**
 * The old release drains first: the edge sends it no new request, finishes the ones it holds
 * (requests in flight, websockets) and closes its idle connections to it within a second; the
 * drain timeout bounds the wait. Only then is it stopped.
 */
async function retireRelease(request: RetireRequest): Promise<void> {
  const { options, proxy, retiring, logger } = request;
  if (retiring) {
    logger.section(retiring.release === undefined ? `Retiring what earlier releases of ${request.app} left` : `Retiring ${request.app} release ${retiring.release}`);
    if (retiring.leftBehind) logger.info(`Also retiring ${retiring.leftBehind.join(', ')}, left by an earlier release`);
    await drainContainers(proxy, retiring.containers, options.drainTimeoutSeconds, logger);
    for (const [scheduler, containers] of byScheduler(request, retiring.containers)) {
      await scheduler.removeContainers(containers, options.stopTimeoutSeconds, (what, ms) => logger.info(`Stopped and removed ${what} (${formatDuration(ms)})`));
    }
  }
  await pruneImages(request);
}

/** Waits until nothing holds a connection to the containers, which get no new requests; bounded by --drain-timeout. */
export async function drainContainers(proxy: ReverseProxy, containers: ContainerRecord[], drainTimeoutSeconds: number, logger: Logger): Promise<void> {
  logger.info(`Draining: ${containers.map((c) => c.name).join(', ')} gets no new requests; waiting for open connections to finish (at most ${drainTimeoutSeconds} s)`);
  const drain = await proxy.drain({ upstreams: containers.map((c) => ({ host: c.ip, port: c.port })) }, drainTimeoutSeconds * 1000);
  logger.info(drain.connectionsLeft ? `Drain time is up with ${drain.connectionsLeft} connection(s) still open; stopping anyway` : `Drained in ${formatDuration(drain.waitedMs)}`);
}

/**
 * Keeps the images of the newest releases that served (rollback targets) and the live one; any
 * other image of the app goes, such as one built by a deploy that berth was killed during.
 */
async function pruneImages(request: RetireRequest): Promise<void> {
  const { runtime, options, app, logger, store } = request;
  const served = (await store.listReleases(app)).filter((r) => r.status === 'live' || r.status === 'retired').map((r) => r.image);
  const kept = new Set([request.liveImage, ...[...new Set(served)].slice(0, options.keepReleases)]);
  const stale = (await runtime.appImageTags(app)).filter((tag) => !kept.has(tag));
  for (const tag of stale) {
    try {
      await runtime.removeImage(tag);
      logger.info(`Pruned the image ${tag}`);
    } catch (error) {
      logger.warn(`Could not prune the image ${tag}: ${describe(error)}`);
    }
  }
}
