import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_DEPLOY_SETTINGS, DEFAULT_PROXY_OPTIONS, type AppDeploySettings, type AppProxyOptions, type ChecksState } from '../model/app.js';
import { emptyResources, type AppResources } from '../model/resources.js';
import type { SchedulerName } from '../model/scheduler.js';
import type { StorageMount } from '../model/storage.js';
import { readJson, writeFileAtomic } from './atomic.js';

export type ReleaseStatus = 'building' | 'releasing' | 'starting' | 'checking' | 'switching' | 'live' | 'retired' | 'failed';

export interface ContainerRecord {
  id: string;
  name: string;
  /** Process type from the Procfile: `web` is behind the proxy, others run without it. */
  process: string;
  /** Empty for processes that do not listen; a swarm container's node address. */
  ip: string;
  /** The container's port, or the node's port published for it (swarm). */
  port: number;
  /** swarm: the id of the node it runs on, and the service it is a task of. */
  node?: string;
  service?: string;
}


export interface ReleaseRecord {
  id: number;
  commit: string;
  image: string | undefined;
  status: ReleaseStatus;
  /** Why this release exists: a push, a config change, a restart, a rollback... */
  description: string;
  createdAt: string;
  /** When the switch completed: every new request goes to this release from then on. */
  liveAt: string | undefined;
  finishedAt: string | undefined;
  /** Milliseconds each stage took, by stage name. */
  stageMs: Record<string, number>;
  failure: { stage: string; message: string } | undefined;
  /** The engine's id (sha256:...) of the image the release runs, which names its content. */
  imageDigest?: string;
  /** deploy:image: the image it was given, as REFERENCE@DIGEST. */
  imageSource?: string;
}

export interface LiveRelease {
  release: number;
  commit: string;
  image: string;
  containers: ContainerRecord[];
}

export interface AppRecord {
  name: string;
  createdAt: string;
  config: Record<string, string>;
  /** Host names besides APP.DOMAIN. */
  domains: string[];
  /** How many containers of each process type run. */
  formation: Record<string, number>;
  checks: ChecksState;
  /** Set by ps:stop: the containers are stopped until ps:start. */
  stopped: boolean;
  /** Memory, CPU and pids limits set with resource:limit. */
  resources: AppResources;
  /** proxy:set: redirect-https and hsts. */
  proxy: AppProxyOptions;
  /** storage:mount: managed directories and host paths mounted into the containers. */
  storage: StorageMount[];
  /** deploy:set: the order of a deploy's stages. */
  deploy: AppDeploySettings;
  /** scheduler:set: on berth's own engine, or as services over the swarm's nodes. */
  scheduler: SchedulerName;
  nextRelease: number;
  live: LiveRelease | undefined;
}

const APP_DEFAULTS = { domains: [] as string[], formation: { web: 1 }, checks: 'enabled' as ChecksState, stopped: false, resources: emptyResources(), proxy: DEFAULT_PROXY_OPTIONS, storage: [] as StorageMount[], deploy: DEFAULT_DEPLOY_SETTINGS, scheduler: 'local' as SchedulerName };

/**
 * berth's state under the data dir. Layout:
 *   token                         the push token (0600)
 *   repos/APP.git                 bare repositories
 *   apps/APP/app.json             the app: config, live release, next release number
 *   apps/APP/releases/N.json      one release: commit, image, status, stage timings
 *   apps/APP/deploys/N.log        what the pusher read during that deploy
 */
export class Store {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(readonly dataDir: string) {}

  get reposDir(): string {
    return path.join(this.dataDir, 'repos');
  }
  repoDir(app: string): string {
    return path.join(this.reposDir, `${app}.git`);
  }
  private appDir(app: string): string {
    return path.join(this.dataDir, 'apps', app);
  }
  private appFile(app: string): string {
    return path.join(this.appDir(app), 'app.json');
  }
  private releaseFile(app: string, release: number): string {
    return path.join(this.appDir(app), 'releases', `${release}.json`);
  }

  async listApps(): Promise<string[]> {
    try {
      return (await fs.readdir(path.join(this.dataDir, 'apps'))).sort();
    } catch {
      return [];
    }
  }

  /** Records written by an older berth get the fields added since, with their defaults. */
  async getApp(app: string): Promise<AppRecord | undefined> {
    const record = await readJson<AppRecord>(this.appFile(app));
    return record && { ...structuredClone(APP_DEFAULTS), ...record };
  }

  /** `scheduler`: where a new app runs (berth serve --scheduler). */
  async createApp(app: string, scheduler: SchedulerName = 'local'): Promise<AppRecord> {
    return this.serialized(app, async () => {
      const existing = await this.getApp(app);
      if (existing) return existing;
      const record: AppRecord = { name: app, createdAt: new Date().toISOString(), config: {}, ...structuredClone(APP_DEFAULTS), scheduler, nextRelease: 1, live: undefined };
      await writeFileAtomic(this.appFile(app), JSON.stringify(record, null, 2));
      return record;
    });
  }

  async updateApp(app: string, change: (record: AppRecord) => void): Promise<AppRecord> {
    return this.serialized(app, async () => {
      const record = await this.getApp(app);
      if (!record) throw new Error(`app ${app} does not exist`);
      change(record);
      await writeFileAtomic(this.appFile(app), JSON.stringify(record, null, 2));
      return record;
    });
  }

  async createRelease(app: string, commit: string, description: string): Promise<ReleaseRecord> {
    let id = 0;
    await this.updateApp(app, (record) => {
      id = record.nextRelease;
      record.nextRelease += 1;
    });
    const release: ReleaseRecord = {
      id,
      commit,
      image: undefined,
      status: 'building',
      description,
      createdAt: new Date().toISOString(),
      liveAt: undefined,
      finishedAt: undefined,
      stageMs: {},
      failure: undefined,
    };
    await writeFileAtomic(this.releaseFile(app, id), JSON.stringify(release, null, 2));
    return release;
  }

  async saveRelease(app: string, release: ReleaseRecord): Promise<void> {
    await writeFileAtomic(this.releaseFile(app, release.id), JSON.stringify(release, null, 2));
  }

  async getRelease(app: string, release: number): Promise<ReleaseRecord | undefined> {
    return readJson<ReleaseRecord>(this.releaseFile(app, release));
  }

  /** Newest first. */
  async listReleases(app: string): Promise<ReleaseRecord[]> {
    const files = await fs.readdir(path.join(this.appDir(app), 'releases')).catch(() => [] as string[]);
    const releases: ReleaseRecord[] = [];
    for (const file of files.filter((f) => /^\d+\.json$/.test(f))) {
      const release = await readJson<ReleaseRecord>(path.join(this.appDir(app), 'releases', file));
      if (release) releases.push(release);
    }
    return releases.sort((a, b) => b.id - a.id);
  }

  /** Bytes the data dir takes on disk (blocks, as du counts them; a file linked twice counts once). */
  async diskUsage(): Promise<number> {
    const entries = await fs.readdir(this.dataDir, { withFileTypes: true, recursive: true }).catch(() => []);
    const seen = new Set<string>();
    let bytes = 0;
    for (const entry of entries) {
      const stat = await fs.lstat(path.join(entry.parentPath, entry.name)).catch(() => undefined);
      if (!stat || seen.has(`${stat.dev}:${stat.ino}`)) continue;
      seen.add(`${stat.dev}:${stat.ino}`);
      bytes += stat.blocks * 512;
    }
    return bytes;
  }

  /** Forgets these releases: their records and deploy logs. */
  async deleteReleases(app: string, releases: number[]): Promise<void> {
    for (const release of releases) {
      await fs.rm(this.releaseFile(app, release), { force: true });
      await fs.rm(path.join(this.deployLogDir(app), `${release}.log`), { force: true });
    }
  }

  async readDeployLog(app: string, release: number): Promise<string | undefined> {
    return fs.readFile(path.join(this.deployLogDir(app), `${release}.log`), 'utf8').catch(() => undefined);
  }

  /** Forgets the app: its state and its repository. */
  async deleteApp(app: string): Promise<void> {
    await this.serialized(app, async () => {
      await fs.rm(this.appDir(app), { recursive: true, force: true });
      await fs.rm(this.repoDir(app), { recursive: true, force: true });
    });
  }

  /** The transcript is already bounded (log/transcript.ts); this writes it as it is. */
  async saveDeployLog(app: string, release: number, transcript: string): Promise<void> {
    await writeFileAtomic(path.join(this.deployLogDir(app), `${release}.log`), transcript);
  }

  /** Keeps the deploy logs of the newest `keep` releases. */
  async pruneDeployLogs(app: string, keep: number): Promise<void> {
    const files = await fs.readdir(this.deployLogDir(app)).catch(() => [] as string[]);
    const byAge = files.filter((f) => /^\d+\.log$/.test(f)).sort((a, b) => parseInt(b, 10) - parseInt(a, 10));
    for (const file of byAge.slice(keep)) await fs.rm(path.join(this.deployLogDir(app), file), { force: true });
  }

  private deployLogDir(app: string): string {
    return path.join(this.appDir(app), 'deploys');
  }

  private serialized<T>(app: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(app) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.queues.set(app, next.catch(() => undefined));
    return next;
  }
}
