import fs from 'node:fs/promises';
import path from 'node:path';
import { BerthError } from '../errors.js';
import type { AppProxyOptions } from '../model/app.js';
import { PASSAGE_MODE } from '../store/permissions.js';
import { establishedConnectionsTo } from './connections.js';
import { streamModuleDirective } from './modules.js';
import { NginxInstance } from './nginx.js';
import { sleep } from '../time.js';
import { renderEdgeApp, renderEdgeMain, renderSwitchApp, renderSwitchMain, routedReleaseOf } from './render.js';
import type { DrainResult, Retiring, ReverseProxy, ServedCertificate, SwitchRequest } from './reverse-proxy.js';

export interface ProxyOptions {
  bin: string;
  /** DATA_DIR/nginx: holds edge/, switch/ and sockets/. */
  dir: string;
  httpPort: number;
  domain: string;
  drainTimeoutSeconds: number;
  /** berth's log: a tier whose master died, and what berth did about it. */
  log?(line: string): void;
}

/**
 * The edge holds client connections; the switch tier holds each app's upstream. A deploy
 * reloads only the switch tier, so no client connection is ever closed by a deploy; the edge
 * recycles its connections to the switch tier after this long, which bounds how long a
 * connection opened before a switch can carry requests to the old release.
 */
export const EDGE_CONNECTION_LIFETIME_MS = 200;

const DRAIN_POLL_MS = 50;

/**
 * The folders under DATA_DIR/nginx that nginx's unprivileged workers pass through: to the app
 * sockets (the edge's workers connect to them; nginx makes each socket 0666 itself), and to the
 * edge's temp files (nginx's master makes the folders in tmp/ and gives them to the workers'
 * user). They read nothing else: the master, running as root, reads the config and opens the logs.
 */
export function workerPassages(dir: string): string[] {
  return [dir, path.join(dir, 'edge'), path.join(dir, 'edge', 'tmp'), path.join(dir, 'sockets')];
}

/** nginx started as root runs its workers as nobody, who needs to pass through every parent folder. */
async function assertReachableByWorkers(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let current = dir; current !== path.dirname(current); current = path.dirname(current)) {
    const { mode } = await fs.stat(current);
    if ((mode & 0o001) === 0) {
      throw new BerthError(
        `nginx's workers (user nobody) cannot reach ${dir}: ${current} is not searchable by others`,
        `run chmod o+x ${current}, or use a --data-dir outside it (for example /var/lib/berth)`,
      );
    }
  }
}

export class DataPlane implements ReverseProxy {
  private constructor(
    private readonly options: ProxyOptions,
    readonly edge: NginxInstance,
    readonly switchTier: NginxInstance,
  ) {}

  static async create(options: ProxyOptions): Promise<DataPlane> {
    const loadStreamModule = await streamModuleDirective(options.bin);
    const socketsDir = path.join(options.dir, 'sockets');
    const edgePrefix = path.join(options.dir, 'edge');
    const switchPrefix = path.join(options.dir, 'switch');
    const log = options.log ?? (() => undefined);
    const edge = new NginxInstance({
      name: 'edge',
      bin: options.bin,
      prefix: edgePrefix,
      log,
      renderMain: (includes) => renderEdgeMain({ prefix: edgePrefix, httpPort: options.httpPort, domain: options.domain, drainTimeoutSeconds: options.drainTimeoutSeconds, includes }),
    });
    const switchTier = new NginxInstance({
      name: 'switch',
      bin: options.bin,
      prefix: switchPrefix,
      renderMain: (includes) => renderSwitchMain({ prefix: switchPrefix, drainTimeoutSeconds: options.drainTimeoutSeconds, loadStreamModule, includes }),
      log,
      // A killed switch nginx leaves its unix sockets behind, and bind() refuses existing paths; those a new master inherits stay.
      beforeStart: async (inherited) => {
        for (const socket of await fs.readdir(socketsDir).catch(() => [])) {
          const file = path.join(socketsDir, socket);
          if (!inherited.includes(`unix:${file}`)) await fs.rm(file, { force: true });
        }
      },
    });
    return new DataPlane(options, edge, switchTier);
  }

  private get socketsDir(): string {
    return path.join(this.options.dir, 'sockets');
  }

  socketPath(app: string): string {
    return path.join(this.socketsDir, `${app}.sock`);
  }

  /** The switch tier first: the edge's upstream sockets must exist before it routes to them. */
  async ensureRunning(): Promise<void> {
    // The edge's workers run unprivileged and must reach the sockets; every other folder is berth's alone.
    for (const dir of workerPassages(this.options.dir)) {
      await fs.mkdir(dir, { recursive: true, mode: PASSAGE_MODE });
      await fs.chmod(dir, PASSAGE_MODE);
    }
    await assertReachableByWorkers(this.socketsDir);
    await this.switchTier.ensureRunning();
    await this.edge.ensureRunning();
  }

  /**
   * Points the app's socket at its new containers (tested, then reloaded). A file is put in place
   * only right before the reload that loads it, and a release is recorded live only after that
   * reload, so a file that already says what is asked for needs no reload. The edge is reloaded only when the app is new or its host
   * names changed.
   */
  async switchApp(request: SwitchRequest): Promise<{ retiringWorkers: number[] }> {
    const socket = this.socketPath(request.app);
    const switchConfig = renderSwitchApp({ app: request.app, release: request.release, socket, upstreams: request.upstreams });
    const previous = await this.switchTier.readAppConfig(request.app);
    if (previous === switchConfig) {
      await this.updateHostNames(request.app, request.serverNames);
      return { retiringWorkers: [] };
    }
    const { retiringWorkers } = await this.switchTier.applyAppConfig(request.app, switchConfig);
    try {
      await this.updateHostNames(request.app, request.serverNames);
    } catch (error) {
      // The switch tier already routes to the new release, which the caller removes when this throws.
      await this.restoreSwitchConfig(request.app, previous);
      throw error;
    }
    return { retiringWorkers };
  }

  async routedRelease(app: string): Promise<number | undefined> {
    const config = await this.switchTier.readAppConfig(app);
    return config === undefined ? undefined : routedReleaseOf(config);
  }

  private async restoreSwitchConfig(app: string, previous: string | undefined): Promise<void> {
    if (previous === undefined) await this.switchTier.removeAppConfig(app);
    else await this.switchTier.applyAppConfig(app, previous);
  }

  /** Whether both nginx tiers have a live master: either can be killed (OOM, an operator) without berth noticing otherwise. */
  async isRunning(): Promise<boolean> {
    return (await this.switchTier.masterPid()) !== undefined && (await this.edge.masterPid()) !== undefined;
  }

  /** New host names for an app: only the edge changes (and is reloaded). */
  async updateHostNames(app: string, serverNames: string[]): Promise<void> {
    const edgeConfig = renderEdgeApp({ app, httpPort: this.options.httpPort, serverNames, socket: this.socketPath(app), connectionLifetimeMs: EDGE_CONNECTION_LIFETIME_MS });
    if ((await this.edge.readAppConfig(app)) !== edgeConfig) await this.edge.applyAppConfig(app, edgeConfig);
  }

  /** The edge stops routing the app first, then its socket goes. */
  async removeApp(app: string): Promise<void> {
    await this.edge.removeAppConfig(app);
    await this.switchTier.removeAppConfig(app);
  }

  /**
   * After a switch, waits until no connection opened before it can take a new request: the old
   * switch workers are gone, or every edge connection to them has reached its lifetime.
   */
  async settle(retiringWorkers: number[]): Promise<void> {
    await this.switchTier.waitForWorkersToExit(retiringWorkers, EDGE_CONNECTION_LIFETIME_MS);
  }

  /**
   * The old release is drained when the switch workers of the previous config have exited and
   * nothing on this host holds a connection to its containers, or when timeoutMs is up.
   */
  async drain(retiring: Retiring, timeoutMs: number): Promise<DrainResult> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    let workersLeft = retiring.workers.length;
    let connectionsLeft = 0;
    for (;;) {
      workersLeft = (await this.switchTier.waitForWorkersToExit(retiring.workers, 0)).length;
      connectionsLeft = 0;
      for (const upstream of retiring.upstreams) connectionsLeft += await establishedConnectionsTo(upstream.host, upstream.port);
      if ((workersLeft === 0 && connectionsLeft === 0) || Date.now() >= deadline) break;
      await sleep(DRAIN_POLL_MS);
    }
    return { waitedMs: Date.now() - started, workersLeft, connectionsLeft };
  }

  // Placeholders until the edge of issue 12 (one nginx with routes, certificates and challenges in memory) is merged.
  async setCertificate(app: string, _certificate: ServedCertificate | undefined): Promise<void> {
    throw new BerthError(`not yet: this nginx cannot serve a certificate for ${app}`, 'the edge of issue 12 brings HTTPS');
  }

  async setAppOptions(app: string, _options: AppProxyOptions): Promise<void> {
    throw new BerthError(`not yet: this nginx has no HTTPS options for ${app}`, 'the edge of issue 12 brings HTTPS');
  }

  async setChallenge(_token: string, _keyAuthorization: string | undefined): Promise<void> {
    throw new BerthError('not yet: this nginx cannot answer ACME challenges', 'the edge of issue 12 brings HTTPS');
  }
}
