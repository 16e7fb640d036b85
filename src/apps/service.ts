import type { ServeOptions } from '../server/options.js';
import { BerthError, ConflictError, describe, InputError, NotFoundError } from '../errors.js';
import type { AppLocks } from '../deploy/lock.js';
import type { DeployPipeline } from '../deploy/pipeline.js';
import { appHostNames, appPort, checkAppName, checkConfigKey, checkConfigValue, checkFormation, defaultHostName, isValidDomain } from '../model/app.js';
import { createRepo, type HookTarget } from '../git/repos.js';
import { CommitTree } from '../git/tree.js';
import { BERTH_VERSION } from '../paths.js';
import type { DeployOutput } from '../log/output.js';
import type { DataPlane } from '../proxy/data-plane.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ChecksState } from '../model/app.js';
import type { ContainerInfo, StatusInfo } from '../model/api.js';
import type { AppRecord, ReleaseRecord, Store } from '../store/store.js';

export interface AppServiceDeps {
  options: ServeOptions;
  runtime: Runtime;
  store: Store;
  proxy: DataPlane;
  pipeline: DeployPipeline;
  locks: AppLocks;
  hook: HookTarget;
}

/**
 * What an operator does to apps between pushes. Every change to what runs (config, scale,
 * restart, start, rollback) is a new release through the same pipeline as a push, so it is
 * checked and switched just as losslessly; and it waits for the app's lock like a push does.
 */
export class AppService {
  constructor(private readonly deps: AppServiceDeps) {}

  async list(): Promise<AppRecord[]> {
    const apps: AppRecord[] = [];
    for (const name of await this.deps.store.listApps()) {
      const app = await this.deps.store.getApp(name);
      if (app) apps.push(app);
    }
    return apps;
  }

  async get(name: string): Promise<AppRecord> {
    checkAppName(name);
    const app = await this.deps.store.getApp(name);
    if (!app) throw new NotFoundError(`no app named ${name}`, 'see berth apps:list, or create it with berth apps:create');
    return app;
  }

  async create(name: string): Promise<AppRecord> {
    checkAppName(name);
    if (await this.deps.store.getApp(name)) throw new ConflictError(`an app named ${name} already exists`);
    const app = await this.deps.store.createApp(name);
    await createRepo(this.deps.store.repoDir(name), name, this.deps.hook);
    return app;
  }

  hostNames(app: AppRecord): string[] {
    return appHostNames(app, this.deps.options.domain);
  }

  async containers(app: AppRecord): Promise<ContainerInfo[]> {
    const port = appPort(app.config);
    return (await this.deps.runtime.appContainers(app.name)).map(({ name, process, release, state, ip }) => ({ name, process, release, state, ip, port }));
  }

  async destroy(name: string, confirm: string | undefined): Promise<{ containers: number; images: number }> {
    const app = await this.get(name);
    if (confirm !== app.name) throw new InputError(`destroying ${app.name} needs confirmation`, `send the app's name as confirmation (berth apps:destroy ${app.name} --force)`);
    return this.withLock(app.name, 'destroy', undefined, async () => {
      const { runtime } = this.deps;
      await this.deps.proxy.removeApp(app.name);
      const containers = await runtime.appContainers(app.name);
      for (const container of containers) await runtime.removeContainer(container.id);
      const images = await runtime.removeAppImages(app.name);
      await this.deps.store.deleteApp(app.name);
      return { containers: containers.length, images };
    });
  }

  async setConfig(name: string, set: Record<string, string>, unset: string[], restart: boolean, output: DeployOutput): Promise<{ config: Record<string, string>; release: number | null }> {
    await this.get(name);
    this.validateConfigChange(set, unset);
    const changes = [...Object.keys(set).map((k) => `set ${k}`), ...unset.map((k) => `unset ${k}`)].join(', ');
    const app = await this.deps.store.updateApp(name, (record) => {
      Object.assign(record.config, set);
      for (const key of unset) delete record.config[key];
    });
    output.section(`Config of ${name}: ${changes}`);
    if (!restart || !app.live || app.stopped) {
      output.info(app.live && !app.stopped ? 'Not restarted (--no-restart): the change applies at the next deploy or restart' : 'The change applies when the app next starts');
      return { config: app.config, release: null };
    }
    return { config: app.config, release: await this.redeploy(name, `config change: ${changes}`, output) };
  }

  /** Throws before anything changes, so the API can answer 400 instead of starting a stream. */
  validateFormation(name: string, formation: Record<string, number>): void {
    checkFormation(name, formation);
  }

  validateConfigChange(set: Record<string, string>, unset: string[]): void {
    for (const [key, value] of Object.entries(set)) checkConfigValue(checkConfigKey(key), value);
    for (const key of unset) checkConfigKey(key);
    if (!Object.keys(set).length && !unset.length) throw new InputError('no configuration change given', 'pass KEY=VALUE pairs to config:set or KEY names to config:unset');
  }

  async scale(name: string, formation: Record<string, number>, output: DeployOutput): Promise<{ formation: Record<string, number>; release: number | null }> {
    await this.get(name);
    this.validateFormation(name, formation);
    const app = await this.deps.store.updateApp(name, (record) => Object.assign(record.formation, formation));
    const summary = Object.entries(app.formation).map(([t, n]) => `${t}=${n}`).join(' ');
    output.section(`Scaling ${name} to ${summary}`);
    if (!app.live || app.stopped) return { formation: app.formation, release: null };
    return { formation: app.formation, release: await this.redeploy(name, `scale to ${summary}`, output) };
  }

  async restart(name: string, output: DeployOutput): Promise<{ release: number | null }> {
    return { release: await this.redeploy(name, 'restart', output) };
  }

  /** Stops the containers; nginx keeps its config, so the app answers 502 until ps:start. */
  async stop(name: string, output: DeployOutput): Promise<{ release: number | null }> {
    const app = await this.get(name);
    if (!app.live) throw new ConflictError(`${name} has not been deployed yet: nothing to stop`);
    return this.withLock(name, 'stop', output, async () => {
      for (const container of app.live!.containers) {
        output.info(`Stopping ${container.name}`);
        await this.deps.runtime.stopContainer(container.id, this.deps.options.stopTimeoutSeconds);
      }
      await this.deps.store.updateApp(name, (record) => (record.stopped = true));
      output.section(`${name} is stopped; berth ps:start ${name} starts it again`);
      return { release: null };
    });
  }

  async start(name: string, output: DeployOutput): Promise<{ release: number | null }> {
    const app = await this.get(name);
    if (app.live && !app.stopped) {
      output.info(`${name} is already running (release ${app.live.release})`);
      return { release: null };
    }
    return { release: await this.redeploy(name, 'start', output) };
  }

  async releases(name: string): Promise<ReleaseRecord[]> {
    await this.get(name);
    return this.deps.store.listReleases(name);
  }

  /** The release a rollback goes to: one that was live before and whose image is still kept. */
  async rollbackTarget(name: string, target: number | undefined): Promise<ReleaseRecord> {
    const app = await this.get(name);
    if (!app.live) throw new ConflictError(`${name} has not been deployed yet: nothing to roll back`);
    const releases = await this.deps.store.listReleases(name);
    const candidates = releases.filter((r) => r.id !== app.live!.release && r.image && r.image !== app.live!.image && (r.status === 'retired' || r.status === 'live'));
    const chosen = target === undefined ? candidates[0] : releases.find((r) => r.id === target);
    if (!chosen) {
      if (target === undefined) throw new ConflictError(`${name} has no earlier release to roll back to`, 'a rollback needs a release that was live before this one');
      throw new NotFoundError(`${name} has no release ${target}`, `see berth releases ${name}`);
    }
    if (chosen.id === app.live.release) throw new ConflictError(`release ${chosen.id} is already live`);
    if (!candidates.includes(chosen)) throw new ConflictError(`release ${chosen.id} never went live (${chosen.status}) or runs the live image; berth rolls back to releases that served before`);
    return chosen;
  }

  /** Through the full pipeline, like any deploy. */
  async rollback(name: string, target: number | undefined, output: DeployOutput): Promise<{ release: number; from: number }> {
    const chosen = await this.rollbackTarget(name, target);
    const from = (await this.get(name)).live!.release;
    const release = await this.redeploy(name, `rollback to release ${chosen.id}`, output, { image: chosen.image!, commit: chosen.commit });
    return { release, from };
  }

  async setChecks(name: string, state: ChecksState): Promise<ChecksState> {
    await this.get(name);
    return (await this.deps.store.updateApp(name, (record) => (record.checks = state))).checks;
  }

  async runChecks(name: string, output: DeployOutput): Promise<{ passed: boolean }> {
    const app = await this.get(name);
    try {
      await this.deps.pipeline.checkLive(app, output);
      output.section('All checks passed');
      return { passed: true };
    } catch (error) {
      output.error(describe(error));
      return { passed: false };
    }
  }

  async addDomain(name: string, domain: string): Promise<string[]> {
    const app = await this.get(name);
    const host = domain.toLowerCase();
    if (!isValidDomain(host)) throw new InputError(`"${domain}" is not a valid host name`, 'use letters, digits, hyphens and dots, like www.example.com');
    if (this.hostNames(app).includes(host)) throw new ConflictError(`${name} already answers to ${host}`);
    for (const other of await this.list()) {
      if (other.name !== name && this.hostNames(other).includes(host)) throw new ConflictError(`${host} already belongs to app ${other.name}`);
    }
    return this.changeDomains(app, [...app.domains, host]);
  }

  async removeDomain(name: string, domain: string): Promise<string[]> {
    const app = await this.get(name);
    const host = domain.toLowerCase();
    if (host === defaultHostName(name, this.deps.options.domain)) throw new InputError(`${host} is the app's default host name and cannot be removed`);
    if (!app.domains.includes(host)) throw new NotFoundError(`${name} has no domain ${host}`, `see berth domains:list ${name}`);
    return this.changeDomains(app, app.domains.filter((d) => d !== host));
  }

  private async changeDomains(app: AppRecord, domains: string[]): Promise<string[]> {
    return this.withLock(app.name, 'domains', undefined, async () => {
      if (app.live) await this.deps.proxy.updateHostNames(app.name, appHostNames({ name: app.name, domains }, this.deps.options.domain));
      return (await this.deps.store.updateApp(app.name, (record) => (record.domains = domains))).domains;
    });
  }

  /** Lines the live containers printed, each prefixed with its container's name; follow keeps going until the signal. */
  async logs(name: string, lines: number, follow: boolean, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    const app = await this.get(name);
    const containers = app.live?.containers ?? [];
    if (!follow) {
      for (const record of containers) for (const line of await this.deps.runtime.logTail(record.id, lines)) onLine(`${record.name}| ${line}`);
      return;
    }
    await Promise.all(containers.map((record) => this.deps.runtime.followLogs(record.id, lines, (line) => onLine(`${record.name}| ${line}`), signal)));
  }

  async deployLog(name: string, release: number | 'latest'): Promise<{ release: number; log: string }> {
    await this.get(name);
    const id = release === 'latest' ? (await this.deps.store.listReleases(name))[0]?.id : release;
    const log = id === undefined ? undefined : await this.deps.store.readDeployLog(name, id);
    if (id === undefined || log === undefined) throw new NotFoundError(`${name} has no stored deploy log${release === 'latest' ? '' : ` for release ${release}`}`, `see berth releases ${name}`);
    return { release: id, log };
  }

  async status(startedAt: number): Promise<StatusInfo> {
    const { options, runtime, proxy } = this.deps;
    const version = await runtime.version();
    const engine = { running: version !== undefined, version: version ?? null };
    const [edge, switchTier] = await Promise.all([proxy.edge.masterPid(), proxy.switchTier.masterPid()]);
    const apps = [];
    for (const app of await this.list()) {
      apps.push({ name: app.name, release: app.live?.release ?? null, commit: app.live?.commit ?? null, checks: app.checks, stopped: app.stopped, containers: engine.running ? await this.containers(app) : [] });
    }
    return {
      berth: { version: BERTH_VERSION, instance: options.instance, domain: options.domain, httpPort: options.httpPort, gitPort: options.gitPort, dataDir: options.dataDir, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) },
      nginx: { edge: { running: edge !== undefined, pid: edge ?? null }, switch: { running: switchTier !== undefined, pid: switchTier ?? null } },
      docker: engine,
      apps,
    };
  }

  /** A new release of the live image (or a given one): start, checks, switch, drain, like a push. */
  private async redeploy(name: string, description: string, output: DeployOutput, from?: { image: string; commit: string }): Promise<number> {
    return this.withLock(name, description, output, async () => {
      const app = await this.get(name);
      if (!app.live) throw new ConflictError(`${name} has not been deployed yet`, `push it first: git push deploy main`);
      const image = from?.image ?? app.live.image;
      const commit = from?.commit ?? app.live.commit;
      const tree = new CommitTree(this.deps.store.repoDir(name), commit);
      const outcome = await this.deps.pipeline.deploy({ app: name, source: { kind: 'image', image, tree }, description, output });
      if (!outcome.ok) throw new BerthError(`${description} of ${name} failed at the ${outcome.stage} stage: ${outcome.message}`, 'the previous release is still serving');
      return outcome.release;
    });
  }

  private async withLock<T>(name: string, what: string, output: DeployOutput | undefined, work: () => Promise<T>): Promise<T> {
    const unlock = await this.deps.locks.acquire(name, { description: what, since: Date.now() }, (current) => {
      output?.section(`Waiting: ${name} is busy with ${current.description}`);
    });
    try {
      return await work();
    } finally {
      unlock();
    }
  }
}
