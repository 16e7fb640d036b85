import type { ServeOptions } from '../server/options.js';
import { describe } from '../errors.js';
import type { ReverseProxy, SwitchRequest } from '../proxy/reverse-proxy.js';
import { appHostNames, appPort, WEB_PROCESS } from '../model/app.js';
import { isLoopback } from '../runtime/listening.js';
import type { Runtime } from '../runtime/runtime.js';
import { containerRecordOf, type Schedulers } from '../runtime/scheduler.js';
import type { Plugin } from '../plugins/types.js';
import { sleep } from '../time.js';
import type { AppRecord, ContainerRecord, LiveRelease, ReleaseRecord, ReleaseStatus, Store } from '../store/store.js';
import type { AppLocks } from './lock.js';
import { Rounds } from './rounds.js';
import { Stage } from './stages.js';
import { SwarmFollower } from './swarm-follow.js';
import { allSchedulers, byScheduler, everyAppContainer, schedulerOf } from '../runtime/schedulers.js';

export interface ReconcilerDeps {
  options: ServeOptions;
  runtime: Runtime;
  /** Where each app's containers run; without it, on the runtime's engine. */
  schedulers?: Schedulers;
  /** The checks a replacement Swarm placed must pass before the edge routes to it. */
  plugins: Plugin[];
  store: Store;
  proxy: ReverseProxy;
  locks: AppLocks;
  log(line: string): void;
}

/** How often berth looks for a dead nginx: every request in the gap fails, and a look costs a pid file read. */
export const NGINX_WATCH_INTERVAL_MS = 100;
/** How often berth asks the engine where the live containers are (engine events make it ask sooner). */
export const CONTAINER_WATCH_INTERVAL_MS = 1000;

const LISTEN_POLL_MS = 100;

const UNFINISHED: Partial<Record<ReleaseStatus, Stage>> = {
  building: Stage.Build,
  releasing: Stage.Release,
  starting: Stage.Start,
  checking: Stage.Check,
  switching: Stage.Switch,
};

/**
 * nginx and the containers serve without berth, so berth can die at any point of a deploy. On
 * start it makes the world match its records again: the recorded live release is what nginx
 * routes to, an unfinished deploy is marked failed and its containers go, a retirement that
 * was cut short is finished. While it runs, it restarts a dead nginx and follows live
 * containers to the addresses the engine gives them after a restart.
 */
export class Reconciler {
  private events: { stop(): void } | undefined;
  private readonly rounds: Rounds;
  private readonly reportedGone = new Set<string>();
  private readonly swarm: SwarmFollower;

  constructor(private readonly deps: ReconcilerDeps) {
    this.rounds = new Rounds(deps.log);
    this.swarm = new SwarmFollower(deps);
  }

  /** Runs before berth takes pushes, so nothing else holds an app. */
  async recoverAll(): Promise<void> {
    const apps = await this.deps.store.listApps();
    for (const app of apps) {
      try {
        await this.recoverApp(app);
      } catch (error) {
        this.deps.log(`recovery of ${app} did not finish: ${describe(error)}; it is retried on the next start, and a push of ${app} also puts things right`);
      }
    }
    await this.removeContainersOfUnknownApps(apps);
  }

  watch(): void {
    this.rounds.every('watching nginx', NGINX_WATCH_INTERVAL_MS, () => this.keepNginxRunning());
    const followNow = this.rounds.every('following the live containers', CONTAINER_WATCH_INTERVAL_MS, () => this.followLiveContainers());
    // A container that starts or joins a network may have a new address: look now, not at the next tick.
    this.events = this.deps.runtime.onContainerChange(followNow);
  }

  async stop(): Promise<void> {
    this.events?.stop();
    await this.rounds.stop();
  }

  private async recoverApp(name: string): Promise<void> {
    const { store, proxy, options, log } = this.deps;
    const recorded = await store.getApp(name);
    if (!recorded) return;
    const app = await this.adoptRoutedRelease(recorded);
    await this.closeReleaseRecords(app);
    const live = app.live;
    await this.removeOneOffs(name);
    // A task Swarm placed for the live release since berth last looked is the live release's, not a stray.
    const stray = (await everyAppContainer(this.deps, app)).filter((c) => !live?.containers.some((l) => l.id === c.id) && c.release !== live?.release);
    if (!live) await proxy.removeApp(name);
    else if (!app.stopped) await this.followLive(app, true);
    if (stray.length === 0) return;
    // Whatever nginx sent to the stray containers (a switch cut short, a drain cut short) finishes first.
    const port = appPort(app.config);
    const records = stray.map((c) => containerRecordOf(c, port));
    await proxy.drain({ upstreams: records.filter((c) => c.process === WEB_PROCESS && c.ip).map((c) => ({ host: c.ip, port: c.port })) }, options.drainTimeoutSeconds * 1000);
    for (const [scheduler, containers] of byScheduler(this.deps, records)) await scheduler.removeContainers(containers, 0, () => undefined);
    log(`${name}: removed ${stray.length} container(s) of releases that are not live: ${stray.map((c) => c.name).join(', ')}`);
  }

  /** A one-off container berth was running when it stopped has nobody waiting for it and no time limit left: it goes. */
  private async removeOneOffs(name: string): Promise<void> {
    const orphans = await this.deps.runtime.oneOffContainers(name);
    for (const container of orphans) await this.deps.runtime.removeContainer(container.id);
    if (orphans.length) this.deps.log(`${name}: removed ${orphans.length} one-off container(s) left from before berth started: ${orphans.map((c) => c.name).join(', ')}`);
  }

  /**
   * nginx routes to a release berth did not record live: berth stopped, or could not write, right
   * after the switch. It passed its checks (it got as far as switching) and its containers run, so
   * it is what serves: berth records it live rather than switch back to a release it retires next.
   */
  private async adoptRoutedRelease(app: AppRecord): Promise<AppRecord> {
    const { store, proxy, log } = this.deps;
    const routed = await proxy.routedRelease(app.name);
    if (routed === undefined || routed === app.live?.release) return app;
    const release = await store.getRelease(app.name, routed);
    const running = (await schedulerOf(this.deps, app).appContainers(app.name)).filter((c) => c.release === routed && c.state === 'running');
    if (release?.status !== 'switching' || !release.image || !running.some((c) => c.process === WEB_PROCESS)) return app;
    const port = appPort(app.config);
    const live: LiveRelease = { release: routed, commit: release.commit, image: release.image, containers: running.map((c) => containerRecordOf(c, port)) };
    const adopted = await store.updateApp(app.name, (record) => {
      record.live = live;
      record.stopped = false;
    });
    log(`${app.name}: nginx routes to release ${routed}, which passed its checks but was not recorded live; it is recorded live now`);
    return adopted;
  }

  /** A release berth was working on when it stopped either went live (recorded) or failed. */
  private async closeReleaseRecords(app: AppRecord): Promise<void> {
    const { store, log } = this.deps;
    const now = new Date().toISOString();
    for (const release of await store.listReleases(app.name)) {
      const closed = closeRecord(release, app.live?.release, now);
      if (!closed) continue;
      await store.saveRelease(app.name, closed);
      if (closed.status === 'failed') {
        const note = `berth stopped during the ${closed.failure!.stage} stage of this deploy; when it started again it removed the release's containers. Push again.`;
        const transcript = (await store.readDeployLog(app.name, release.id)) ?? '';
        await store.saveDeployLog(app.name, release.id, `${transcript}${note}\n`);
        log(`${app.name}: release ${release.id} was interrupted at the ${closed.failure!.stage} stage; marked failed`);
      }
    }
  }

  /**
   * Where the live containers run now. One that is stopped and that nothing will restart (an
   * engine restarted without live-restore stops them for good, as does a docker stop) is started
   * again: the recorded live release is what serves, until berth ps:stop. At recovery a web
   * container started again is routed only once it listens: requests the edge holds (berth died
   * in the gap of a stop-first deploy) wait for it rather than fail.
   */
  private async locateLiveContainers(app: AppRecord, live: LiveRelease, untilListening = false): Promise<ContainerRecord[]> {
    const { runtime, log } = this.deps;
    const located: ContainerRecord[] = [];
    for (const container of live.containers) {
      let state = await runtime.containerState(container.id);
      if (state.kind === 'stopped') {
        log(`${app.name}: starting ${container.name} of live release ${live.release}, which was stopped`);
        await runtime.restartContainer(container.id);
        if (untilListening && container.process === WEB_PROCESS) await this.untilListening(container);
        state = await runtime.containerState(container.id);
      }
      if (state.kind === 'gone' && !this.reportedGone.has(container.id)) {
        this.reportedGone.add(container.id);
        log(`${app.name}: ${container.name} of live release ${live.release} no longer exists; run berth ps:restart ${app.name}`);
      }
      located.push(state.kind === 'running' && state.ip ? { ...container, ip: state.ip } : container);
    }
    return located;
  }

  /** Bounded by --listen-timeout; a container that never listens is routed all the same, as before. */
  private async untilListening(container: ContainerRecord): Promise<void> {
    const deadline = Date.now() + this.deps.options.listenTimeoutSeconds * 1000;
    while (Date.now() < deadline) {
      const sockets = await this.deps.runtime.listeningSockets(container.id).catch(() => undefined);
      if (sockets?.some((socket) => socket.port === container.port && !isLoopback(socket.address))) return;
      await sleep(LISTEN_POLL_MS);
    }
  }

  /** At recovery the live release is routed whatever happens; after that, only when its containers moved. */
  private async followLive(app: AppRecord, recovering: boolean): Promise<void> {
    const live = app.live!;
    if (app.scheduler === 'swarm') {
      if (recovering) await routeLiveRelease(this.deps, app, live.containers);
      return this.swarm.follow(app, schedulerOf(this.deps, app));
    }
    const moved = await this.locateLiveContainers(app, live, recovering);
    if (recovering) return routeLiveRelease(this.deps, app, moved);
    if (moved.some((c, i) => c.ip !== live.containers[i].ip)) {
      this.deps.log(`${app.name}: the engine gave release ${live.release} new addresses (${moved.map((c) => c.ip).join(', ')}); nginx follows`);
      await routeLiveRelease(this.deps, app, moved);
    }
  }

  /** Containers and networks of apps berth no longer knows: an apps:destroy that was cut short. */
  private async removeContainersOfUnknownApps(apps: string[]): Promise<void> {
    const { runtime, log } = this.deps;
    for (const scheduler of allSchedulers(this.deps)) {
      // A swarm that does not answer (or a manager in no swarm) has nothing berth could remove now.
      const removed = await scheduler.removeAppsNotIn(apps).catch((error: unknown) => (scheduler.name === 'local' ? Promise.reject(error) : []));
      if (removed.length) log(scheduler.name === 'local' ? `removed ${removed.length} container(s) of apps that no longer exist` : `removed ${removed.length} swarm service(s) of apps that no longer exist: ${removed.join(', ')}`);
    }
    for (const app of (await runtime.networkedApps()).filter((name) => !apps.includes(name))) await runtime.removeAppNetwork(app);
  }

  private async keepNginxRunning(): Promise<void> {
    if (await this.deps.proxy.isRunning()) return;
    this.deps.log('the edge nginx is not running; starting it');
    await this.deps.proxy.ensureRunning();
    this.deps.log('nginx is running again');
  }

  /** An app busy with a deploy is left alone: the deploy records where its containers are. */
  private async followLiveContainers(): Promise<void> {
    const { store, locks } = this.deps;
    for (const name of await store.listApps()) {
      const unlock = locks.tryAcquire(name, { description: 'following its containers', since: Date.now() });
      if (!unlock) continue;
      try {
        const app = await store.getApp(name);
        if (!app?.live || app.stopped) continue;
        await this.followLive(app, false);
      } finally {
        unlock();
      }
    }
  }
}

/** Makes the edge send the app to these containers of its live release, and records where they are. */
export async function routeLiveRelease(deps: Pick<ReconcilerDeps, 'proxy' | 'store' | 'options'>, app: AppRecord, containers: ContainerRecord[]): Promise<void> {
  const live = app.live!;
  await deps.proxy.switchApp(liveRoute(app, containers, deps.options.domain));
  const unchanged = containers.length === live.containers.length && containers.every((c, i) => c.id === live.containers[i].id && c.ip === live.containers[i].ip && c.port === live.containers[i].port);
  if (!unchanged) {
    await deps.store.updateApp(app.name, (record) => {
      if (record.live?.release === live.release) record.live.containers = containers;
    });
  }
}

/** The route of the app's live release, at these containers of it: only web containers are behind the proxy. */
export function liveRoute(app: AppRecord, containers: ContainerRecord[], domain: string): SwitchRequest {
  return {
    app: app.name,
    release: app.live!.release,
    serverNames: appHostNames(app, domain),
    upstreams: containers.filter((c) => c.process === WEB_PROCESS).map((c) => ({ host: c.ip, port: c.port })),
  };
}

/** The record as it should be now, or undefined when it needs no change. */
function closeRecord(release: ReleaseRecord, liveRelease: number | undefined, now: string): ReleaseRecord | undefined {
  const stage = UNFINISHED[release.status];
  if (release.id === liveRelease) return release.status === 'live' ? undefined : { ...release, status: 'live', liveAt: release.liveAt ?? now, finishedAt: now };
  if (stage) return { ...release, status: 'failed', finishedAt: now, failure: { stage, message: 'berth stopped during this deploy' } };
  if (release.status === 'live') return { ...release, status: 'retired' };
  return undefined;
}
