import fs from 'node:fs/promises';
import { ConflictError, InputError } from '../errors.js';
import { appHostNames, appPort, checkAppName, defaultHostName } from '../model/app.js';
import type { ContainerInfo, DestroyedStorage } from '../model/api.js';
import { appStorageDir } from '../model/storage.js';
import { createRepo } from '../git/repos.js';
import type { AppRecord } from '../store/store.js';
import type { AppOperator } from './operator.js';
import { byScheduler, everyAppContainer } from '../runtime/schedulers.js';
import { containerRecordOf } from '../runtime/scheduler.js';

/** What was removed with an app. */
export interface Destroyed {
  containers: number;
  images: number;
  storage: DestroyedStorage | null;
}

/** The apps themselves: which there are, making one ready for its first push, removing one. */
export class AppsService {
  constructor(private readonly operator: AppOperator) {}

  async list(): Promise<AppRecord[]> {
    const { store } = this.operator.deps;
    const apps: AppRecord[] = [];
    for (const name of await store.listApps()) {
      const app = await store.getApp(name);
      if (app) apps.push(app);
    }
    return apps;
  }

  get(name: string): Promise<AppRecord> {
    return this.operator.get(name);
  }

  /** apps:create: an app that exists already is a conflict. */
  create(name: string): Promise<AppRecord> {
    return this.make(name, async (existing) => {
      throw new ConflictError(`an app named ${existing.name} already exists`, `see it with berth apps:info ${existing.name}`);
    });
  }

  /** The first push to an app without a repository: two such pushes at once both push to the one app. */
  createOnPush(name: string): Promise<AppRecord> {
    const { store, hook } = this.operator.deps;
    return this.make(name, async (existing) => {
      await createRepo(store.repoDir(name), name, hook);
      return existing;
    });
  }

  /** The app that answers to `host` (by APP.DOMAIN or a custom domain), if any; the caller holds the host names' lock. */
  async hostNameOwner(host: string): Promise<string | undefined> {
    return (await this.list()).find((app) => this.hostNames(app).includes(host))?.name;
  }

  /** Under the app's lock and the host names' lock: APP.DOMAIN may be another app's custom domain. */
  private make(name: string, whenExists: (existing: AppRecord) => Promise<AppRecord>): Promise<AppRecord> {
    const { store, hook, options } = this.operator.deps;
    checkAppName(name);
    return this.operator.withLock(name, 'create', undefined, () =>
      this.operator.withHostNames(`create ${name}`, async () => {
        const existing = await store.getApp(name);
        if (existing) return whenExists(existing);
        const host = defaultHostName(name, options.domain);
        const owner = await this.hostNameOwner(host);
        if (owner) throw new ConflictError(`cannot create ${name}: its host name ${host} already belongs to app ${owner}`, `pick another app name, or remove the domain first: berth domains:remove ${owner} ${host}`);
        const app = await store.createApp(name, options.scheduler);
        await createRepo(store.repoDir(name), name, hook);
        return app;
      }),
    );
  }

  /**
   * Needs the app's name as confirmation, so a script cannot remove the wrong app by a slip. The
   * app's managed storage stays (a new app of that name mounting the same NAME finds it) unless
   * `purgeStorage`; host paths it mounted are the operator's and never touched.
   */
  async destroy(name: string, confirm: string, purgeStorage = false): Promise<Destroyed> {
    const app = await this.get(name);
    checkDestroyConfirmed(app.name, confirm);
    return this.operator.withLock(app.name, 'destroy', undefined, async () => ({ ...(await this.remove(app.name)), storage: await this.settleStorage(app.name, purgeStorage) }));
  }

  private async settleStorage(name: string, purge: boolean): Promise<DestroyedStorage | null> {
    const dir = appStorageDir(this.operator.deps.options.dataDir, name);
    if (!(await fs.stat(dir).catch(() => undefined))) return null;
    if (purge) await fs.rm(dir, { recursive: true, force: true });
    return { dir, kept: !purge };
  }

  /** APP.DOMAIN first, then those added with domains:add. */
  hostNames(app: Pick<AppRecord, 'name' | 'domains'>): string[] {
    return appHostNames(app, this.operator.deps.options.domain);
  }

  /** The app's containers as the engine sees them now, running or not. */
  async containers(app: AppRecord): Promise<ContainerInfo[]> {
    const port = appPort(app.config);
    const { liveness } = this.operator.deps;
    const containers = await everyAppContainer(this.operator.deps, app);
    return containers.map(({ id, name, process, release, state, ip, ...c }) => ({ name, process, release, state, ip, port: c.port ?? port, liveness: liveness?.liveness(id) ?? null }));
  }

  private async remove(name: string): Promise<Omit<Destroyed, 'storage'>> {
    const { runtime, proxy, store, certs } = this.operator.deps;
    await certs.forget(name);
    await proxy.removeApp(name);
    const app = await this.get(name);
    const long = (await everyAppContainer(this.operator.deps, app)).map((c) => containerRecordOf(c, appPort(app.config)));
    for (const [scheduler, group] of byScheduler(this.operator.deps, long)) await scheduler.removeContainers(group, 0, () => undefined);
    const oneOffs = await runtime.oneOffContainers(name);
    for (const container of oneOffs) await runtime.removeContainer(container.id);
    const containers = [...long, ...oneOffs];
    await runtime.removeAppNetwork(name);
    const images = await runtime.removeAppImages(name);
    await store.deleteApp(name);
    return { containers: containers.length, images };
  }
}

function checkDestroyConfirmed(app: string, confirm: string): void {
  if (confirm !== app) throw new InputError(`destroying ${app} needs confirmation`, `send the app's name as confirmation (berth apps:destroy ${app} --force)`);
}
