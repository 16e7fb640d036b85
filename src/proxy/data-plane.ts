import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BerthError, describe, InputError } from '../errors.js';
import { DEFAULT_PROXY_OPTIONS, type AppProxyOptions } from '../model/app.js';
import { commandLine, isAlive } from '../host/processes.js';
import { writeFileAtomic } from '../store/atomic.js';
import { PASSAGE_MODE } from '../store/permissions.js';
import { sleep } from '../time.js';
import { establishedConnectionsTo } from './connections.js';
import { putRoutes } from './edge-admin.js';
import { luaModuleDirectives } from './modules.js';
import { NginxInstance } from './nginx.js';
import { ensurePlaceholderCertificate } from './placeholder-cert.js';
import { LUA_DIR, renderEdgeMain } from './render.js';
import { assertChallenge, certificateId, emptyAppRoute, emptyRouteTable, parseRouteTable, renderRouteTable, type AppRoute, type RouteTable } from './route-table.js';
import type { DrainResult, Retiring, ReverseProxy, ServedCertificate, SwitchRequest } from './reverse-proxy.js';

export interface ProxyOptions {
  bin: string;
  /** DATA_DIR/nginx: holds edge/. */
  dir: string;
  httpPort: number;
  httpsPort: number;
  domain: string;
  drainTimeoutSeconds: number;
  /** berth's log: a master that died, and what berth did about it. */
  log?(line: string): void;
}

const DRAIN_POLL_MS = 50;

/**
 * The folders under DATA_DIR/nginx that nginx's unprivileged workers pass through, to the temp
 * files of large request bodies (nginx's master makes the folders in tmp/ and gives them to the
 * workers' user). They read nothing else: the master, running as root, reads the config, the
 * route table and the placeholder key, and opens the logs and the admin socket.
 */
export function workerPassages(dir: string): string[] {
  return [dir, path.join(dir, 'edge'), path.join(dir, 'edge', 'tmp')];
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

/** What only berth's user (and nginx's master) may open: the route table holds every app's TLS key. */
function privateFiles(prefix: string): { dir: string; routes: string; adminSocket: string; placeholderCert: string; placeholderKey: string } {
  const dir = path.join(prefix, 'private');
  return { dir, routes: path.join(dir, 'routes'), adminSocket: path.join(dir, 'admin.sock'), placeholderCert: path.join(dir, 'placeholder.crt'), placeholderKey: path.join(dir, 'placeholder.key') };
}

async function readRouteTable(file: string): Promise<RouteTable> {
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return emptyRouteTable();
  try {
    return parseRouteTable(text);
  } catch (error) {
    throw new BerthError(`the edge's route table ${file} cannot be read: ${describe(error)}`, 'berth writes that file itself; move it away and start berth again, which routes every live app again (certificates need installing again)');
  }
}

async function exists(file: string): Promise<boolean> {
  return (await fs.stat(file).catch(() => undefined)) !== undefined;
}

/**
 * An older berth ran a second nginx, the switch tier, between the edge and the containers. The
 * edge routes to the containers itself now: the switch tier finishes the requests it holds and
 * exits (SIGQUIT), and what only it used goes.
 */
async function retireSwitchTier(dir: string, log: (line: string) => void): Promise<void> {
  const pid = Number((await fs.readFile(path.join(dir, 'switch', 'run', 'nginx.pid'), 'utf8').catch(() => '')).trim());
  if (pid && isAlive(pid) && (await commandLine(pid)).includes('nginx')) {
    process.kill(pid, 'SIGQUIT');
    log(`the switch nginx of an older berth (pid ${pid}) finishes its open requests and exits: the edge routes to the containers itself now`);
  }
  for (const old of ['switch', 'sockets', path.join('edge', 'apps')]) await fs.rm(path.join(dir, old), { recursive: true, force: true });
}

function cloneTable(table: RouteTable): RouteTable {
  return { apps: new Map([...table.apps].map(([app, route]) => [app, structuredClone(route)])), challenges: new Map(table.challenges) };
}

/** An entry that says nothing beyond the defaults is dropped, so a removed app leaves no trace. */
function isEmpty(route: AppRoute): boolean {
  return route.release === undefined && route.hosts.length === 0 && route.certificate === undefined && route.options.redirectHttps === DEFAULT_PROXY_OPTIONS.redirectHttps && route.options.hsts === DEFAULT_PROXY_OPTIONS.hsts;
}

/** The certificate and key must parse and belong together before they go anywhere near the edge. */
function checkCertificate(app: string, certificate: ServedCertificate): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate.certPem);
  } catch (error) {
    throw new InputError(`the certificate for ${app} is not a PEM certificate: ${describe(error)}`, 'give the certificate chain in PEM, the server certificate first');
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(certificate.keyPem));
  } catch {
    // The error may quote the key: say only what is wrong.
    throw new InputError(`the key for ${app}'s certificate is not a PEM private key`, 'give the private key in PEM, unencrypted');
  }
  if (!matches) throw new InputError(`the key given for ${app} does not belong to its certificate`, 'give the key the certificate was issued for');
}

/**
 * One nginx, the edge, holds every client connection and routes by host name from a table in its
 * memory. Every change (a switch, a removed app, host names, options, certificates, ACME
 * answers) is written whole to DATA_DIR/nginx/edge/private/routes, atomically, and handed to nginx
 * through its admin socket: nginx is never reloaded for it, and an nginx started while berth is
 * away loads the same file. Changes are made one at a time, in order.
 */
export class DataPlane implements ReverseProxy {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: ProxyOptions,
    readonly edge: NginxInstance,
    private table: RouteTable,
    private text: string,
    /** False on a data dir of an older berth (two nginx tiers), or when the file was lost. */
    readonly hasRouteTable: boolean,
  ) {}

  static async create(options: ProxyOptions): Promise<DataPlane> {
    const loadModules = await luaModuleDirectives(options.bin);
    const prefix = path.join(options.dir, 'edge');
    const files = privateFiles(prefix);
    const luaDigest = createHash('sha256').update(await fs.readFile(path.join(LUA_DIR, 'berth_edge.lua'))).digest('hex').slice(0, 16);
    const mainSpec = { prefix, httpPort: options.httpPort, httpsPort: options.httpsPort, domain: options.domain, drainTimeoutSeconds: options.drainTimeoutSeconds, loadModules, luaDir: LUA_DIR, luaDigest, routesFile: files.routes, adminSocket: files.adminSocket, placeholderCert: files.placeholderCert, placeholderKey: files.placeholderKey };
    const edge = new NginxInstance({
      name: 'edge',
      bin: options.bin,
      prefix,
      log: options.log ?? (() => undefined),
      renderMain: () => renderEdgeMain(mainSpec),
      // A killed nginx leaves its admin socket behind, and bind() refuses an existing path; one a new master inherits stays.
      beforeStart: async (inherited) => {
        if (!inherited.includes(`unix:${files.adminSocket}`)) await fs.rm(files.adminSocket, { force: true });
      },
    });
    const table = await readRouteTable(files.routes);
    return new DataPlane(options, edge, table, renderRouteTable(table), await exists(files.routes));
  }

  /**
   * Routes for a data dir without a route table, before ensureRunning hands the table to nginx
   * for the first time: an nginx an older berth ran then goes straight from its old routes to
   * these, with no moment in which it knows no app.
   */
  seed(routes: SwitchRequest[]): void {
    const next = cloneTable(this.table);
    for (const route of routes) next.apps.set(route.app, { ...emptyAppRoute(), release: route.release, upstreams: route.upstreams, hosts: route.serverNames });
    this.text = renderRouteTable(next);
    this.table = next;
  }

  private get files(): ReturnType<typeof privateFiles> {
    return privateFiles(this.edge.prefix);
  }

  /** Starts the edge (which loads the route table) or reloads a changed main config, then makes sure it holds the table berth has. */
  async ensureRunning(): Promise<void> {
    return this.serialized(async () => {
      // The workers run unprivileged and reach only their temp files; every other folder is berth's alone.
      for (const dir of workerPassages(this.options.dir)) {
        await fs.mkdir(dir, { recursive: true, mode: PASSAGE_MODE });
        await fs.chmod(dir, PASSAGE_MODE);
      }
      await assertReachableByWorkers(path.join(this.edge.prefix, 'tmp'));
      await fs.mkdir(this.files.dir, { recursive: true, mode: 0o700 });
      await fs.chmod(this.files.dir, 0o700);
      await ensurePlaceholderCertificate(this.files.placeholderCert, this.files.placeholderKey);
      if ((await fs.readFile(this.files.routes, 'utf8').catch(() => undefined)) !== this.text) await writeFileAtomic(this.files.routes, this.text);
      await this.edge.ensureRunning();
      await putRoutes(this.files.adminSocket, this.text);
      await retireSwitchTier(this.options.dir, this.options.log ?? (() => undefined));
    });
  }

  /** Every new request for the app goes to these upstreams once this resolves; when it throws, the app is routed as it was before. */
  async switchApp(request: SwitchRequest): Promise<void> {
    await this.change((table) => {
      const route = table.apps.get(request.app) ?? emptyAppRoute();
      table.apps.set(request.app, { ...route, release: request.release, upstreams: request.upstreams, holdSeconds: undefined, hosts: request.serverNames });
    });
  }

  /** New requests for the app wait in the edge's Lua (see wait_for_release) until the next switchApp. */
  async holdApp(app: string, holdSeconds: number): Promise<void> {
    await this.change((table) => {
      const route = table.apps.get(app);
      if (!route || route.release === undefined) throw new BerthError(`the edge does not route ${app}, so it has nothing to hold`, 'this is a bug in berth: a stop-first deploy holds only a routed app');
      table.apps.set(app, { ...route, upstreams: [], holdSeconds });
    });
  }

  async routedRelease(app: string): Promise<number | undefined> {
    return this.table.apps.get(app)?.release;
  }

  /** Whether the edge has a live master: it can be killed (OOM, an operator) without berth noticing otherwise. */
  async isRunning(): Promise<boolean> {
    return (await this.edge.masterPid()) !== undefined;
  }

  /** New host names for an app. */
  async updateHostNames(app: string, serverNames: string[]): Promise<void> {
    await this.change((table) => {
      table.apps.set(app, { ...(table.apps.get(app) ?? emptyAppRoute()), hosts: serverNames });
    });
  }

  /** Its route, options and certificate go. */
  async removeApp(app: string): Promise<void> {
    await this.change((table) => table.apps.delete(app));
  }

  async setCertificate(app: string, certificate: ServedCertificate | undefined): Promise<void> {
    if (certificate) checkCertificate(app, certificate);
    await this.change((table) => {
      const route = table.apps.get(app) ?? emptyAppRoute();
      const served = certificate && { id: certificateId(certificate.certPem, certificate.keyPem), hosts: certificate.hosts.map((host) => host.toLowerCase()), certPem: certificate.certPem, keyPem: certificate.keyPem };
      table.apps.set(app, { ...route, certificate: served });
    });
  }

  async setAppOptions(app: string, options: AppProxyOptions): Promise<void> {
    await this.change((table) => {
      table.apps.set(app, { ...(table.apps.get(app) ?? emptyAppRoute()), options: { redirectHttps: options.redirectHttps, hsts: options.hsts } });
    });
  }

  async setChallenge(token: string, keyAuthorization: string | undefined): Promise<void> {
    assertChallenge(token, keyAuthorization);
    await this.change((table) => {
      if (keyAuthorization === undefined) table.challenges.delete(token);
      else table.challenges.set(token, keyAuthorization);
    });
  }

  /** The old release is drained when the edge holds no connection to its containers (idle ones close within 1 s), or when timeoutMs is up. */
  async drain(retiring: Retiring, timeoutMs: number): Promise<DrainResult> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    let connectionsLeft = 0;
    for (;;) {
      connectionsLeft = 0;
      for (const upstream of retiring.upstreams) connectionsLeft += await establishedConnectionsTo(upstream.host, upstream.port);
      if (connectionsLeft === 0 || Date.now() >= deadline) break;
      await sleep(DRAIN_POLL_MS);
    }
    return { waitedMs: Date.now() - started, connectionsLeft };
  }

  /**
   * The file first, then nginx: should berth stop in between, the file is what nginx serves once
   * berth has started again (ensureRunning hands it over). When nginx does not take the table,
   * the change throws.
   */
  private change(edit: (table: RouteTable) => void): Promise<void> {
    return this.serialized(async () => {
      const next = cloneTable(this.table);
      edit(next);
      for (const [app, route] of next.apps) if (isEmpty(route)) next.apps.delete(app);
      const text = renderRouteTable(next);
      if (text === this.text) return;
      await writeFileAtomic(this.files.routes, text);
      try {
        await this.handOver(text);
      } catch (error) {
        await this.restore(next, text);
        throw error;
      }
      this.table = next;
      this.text = text;
    });
  }

  /**
   * After a failed hand-over the previous table goes back, in the file and in nginx if it runs.
   * An nginx that runs but takes neither may hold either: then the new table stays the truth, so
   * routedRelease says what nginx may route to, and nginx gets it at its next start.
   */
  private async restore(next: RouteTable, text: string): Promise<void> {
    await writeFileAtomic(this.files.routes, this.text);
    if ((await this.edge.masterPid()) === undefined) return;
    try {
      await putRoutes(this.files.adminSocket, this.text);
    } catch {
      await writeFileAtomic(this.files.routes, text);
      this.table = next;
      this.text = text;
    }
  }

  /** A dead edge is started instead, and loads the table from the file. */
  private async handOver(text: string): Promise<void> {
    try {
      await putRoutes(this.files.adminSocket, text);
    } catch (error) {
      if ((await this.edge.masterPid()) !== undefined) throw error;
      await this.edge.ensureRunning();
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
