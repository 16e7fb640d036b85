import fs from 'node:fs/promises';
import { BerthError, ConflictError, InputError } from '../errors.js';
import type { MountInfo, StorageChanged } from '../model/api.js';
import {
  checkHostPath,
  checkMountSelector,
  checkStorageMount,
  describeMount,
  DOCKER_SOCKETS,
  isManagedSource,
  storageHostPath,
  withMount,
  withoutMounts,
  type MountSelector,
  type StorageMount,
} from '../model/storage.js';
import type { DeployOutput } from '../log/output.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { AppRecord } from '../store/store.js';
import type { AppOperator } from './operator.js';

/**
 * storage:mount, storage:unmount and storage:list. A change is stored, then reaches the
 * containers as a new release through the pipeline (start beside, checks, switch, drain); when
 * that release fails, the change is taken back, so what is stored is what serves.
 */
export class StorageService {
  constructor(private readonly operator: AppOperator) {}

  async list(name: string): Promise<{ mounts: MountInfo[] }> {
    return { mounts: this.mountInfos(await this.operator.get(name)) };
  }

  /** Checks the mount, and on the server where a host path really leads, before anything is stored. */
  async mount(name: string, mount: StorageMount, output: DeployOutput): Promise<StorageChanged> {
    await this.operator.get(name);
    const checked = await this.checkOnHost(checkStorageMount(mount, await this.protectedPaths()));
    const description = `storage mount ${describeMount(checked)}`;
    return this.operator.withApp(name, description, output, (before) => {
      if (before.scheduler === 'swarm') throw new ConflictError(`${name} runs on the swarm: storage lives on this host, and the swarm's nodes cannot mount it`, `keep the data in a service the app reaches over the network, or berth scheduler:set ${name} local to mount it`);
      return this.change(before, withMount(name, before.storage, checked), description, output);
    });
  }

  async unmount(name: string, selector: MountSelector, output: DeployOutput): Promise<StorageChanged & { removed: MountInfo[] }> {
    await this.operator.get(name);
    checkMountSelector(selector);
    return this.operator.withApp(name, `storage unmount ${selector.source}`, output, async (before) => {
      const { kept, removed } = withoutMounts(name, before.storage, selector);
      const changed = await this.change(before, kept, `storage unmount ${removed.map(describeMount).join(', ')}`, output);
      return { ...changed, removed: removed.map((mount) => this.mountInfo(before.name, mount)) };
    });
  }

  private async change(before: AppRecord, storage: StorageMount[], description: string, output: DeployOutput): Promise<StorageChanged> {
    const { store } = this.operator.deps;
    const app = await store.updateApp(before.name, (record) => {
      record.storage = storage;
    });
    output.section(`Storage of ${app.name}: ${description}`);
    try {
      return { mounts: this.mountInfos(app), release: await this.operator.applyStored(app, description, output) };
    } catch (error) {
      await store.updateApp(before.name, (record) => {
        record.storage = before.storage;
      });
      if (error instanceof BerthError) throw new BerthError(error.message, `${error.hint ?? 'the previous release is still serving'}; the storage change was not kept`);
      throw error;
    }
  }

  /** A host path must exist (a typo is refused, not mounted as an empty folder), and what it leads to through links is judged too. */
  private async checkOnHost(mount: StorageMount): Promise<StorageMount> {
    if (isManagedSource(mount.source)) return mount;
    const real = await fs.realpath(mount.source).catch(() => undefined);
    if (real === undefined) throw new InputError(`host path "${mount.source}" does not exist on the berth server`, `create it there first (mkdir -p ${mount.source}), or mount a storage NAME that berth makes for you`);
    try {
      checkHostPath(real, await this.protectedPaths());
    } catch (error) {
      if (error instanceof InputError) throw new InputError(`host path "${mount.source}" leads to ${real}: ${error.message}`, error.hint);
      throw error;
    }
    return mount;
  }

  /**
   * What no container may see: berth's data dir (tokens, keys, every app's config), its code and
   * plugins (which run as berth), the token and key files it was given, and the engine's socket;
   * as written and as resolved.
   */
  private async protectedPaths(): Promise<string[]> {
    const { dataDir, pluginDirs, tokenFile, tlsCert, tlsKey } = this.operator.deps.options;
    const given = [tokenFile, tlsCert, tlsKey].filter((file): file is string => file !== undefined);
    const paths = [dataDir, PACKAGE_ROOT, ...pluginDirs, ...given, ...DOCKER_SOCKETS, ...dockerHostSocket()];
    const real = await Promise.all(paths.map((p) => fs.realpath(p).catch(() => p)));
    return [...new Set([...paths, ...real])];
  }

  private mountInfos(app: AppRecord): MountInfo[] {
    return app.storage.map((mount) => this.mountInfo(app.name, mount));
  }

  private mountInfo(app: string, mount: StorageMount): MountInfo {
    return { ...mount, hostPath: storageHostPath(this.operator.deps.options.dataDir, app, mount.source), managed: isManagedSource(mount.source) };
  }
}

/** The engine's socket when DOCKER_HOST points elsewhere than the usual place. */
function dockerHostSocket(): string[] {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? [host.slice('unix://'.length)] : [];
}
