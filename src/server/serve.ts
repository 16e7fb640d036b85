import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { isValidAppName } from '../model/app.js';
import type { ServeOptions } from './options.js';
import { AppLocks } from '../deploy/lock.js';
import { DeployPipeline } from '../deploy/pipeline.js';
import { Reconciler } from '../deploy/reconcile.js';
import { BerthError, describe } from '../errors.js';
import { EXIT_LINE_PREFIX, HOOK_PATH_PREFIX, parseRefUpdates, quarantineFromHeaders } from '../git/hook-protocol.js';
import { findHookTools, installHook, repoExists, type HookTarget } from '../git/repos.js';
import { DeployOutput } from '../log/output.js';
import { BUILTIN_PLUGINS_DIR } from '../paths.js';
import { loadPlugins } from '../plugins/loader.js';
import { DataPlane } from '../proxy/data-plane.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import { claimDataDir } from '../store/owner.js';
import { Store } from '../store/store.js';
import { createApiHandler } from '../api/router.js';
import { AppService } from '../apps/service.js';
import { createGitHandler } from './git-http.js';
import { handlePush, type PushDeps } from './push.js';
import { loadOrCreateToken, requestHasToken } from './token.js';

export interface RunningServer {
  gitPort: number;
  token: string;
  close(): Promise<void>;
}

// sockaddr_un holds 108 bytes including the terminator.
const MAX_SOCKET_PATH = 107;

function log(line: string): void {
  process.stdout.write(`[berth] ${line}\n`);
}

function listen(server: http.Server, target: { port: number; host: string } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The pre-receive hooks talk to berth over this socket; it is not reachable from the network. */
function createHookServer(deps: PushDeps): http.Server {
  return http.createServer((req, res) => {
    const app = req.url?.startsWith(HOOK_PATH_PREFIX) ? req.url.slice(HOOK_PATH_PREFIX.length) : '';
    if (req.method !== 'POST' || !isValidAppName(app)) {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      const cancelled = new AbortController();
      res.on('close', () => {
        if (!res.writableEnded) cancelled.abort(new BerthError('the push was interrupted: the git client went away'));
      });
      const output = new DeployOutput((line) => res.write(line + '\n'));
      const request = { app, updates: parseRefUpdates(body), quarantine: quarantineFromHeaders(req.headers, deps.store.repoDir(app)) };
      handlePush(deps, request, output, cancelled.signal)
        .catch((error: unknown) => {
          output.error(`berth failed: ${describe(error)}`);
          return 1;
        })
        .then((exit) => res.end(`${EXIT_LINE_PREFIX}${exit}\n`));
    });
  });
}

async function refreshHooks(store: Store, hook: HookTarget): Promise<void> {
  for (const app of await store.listApps()) {
    const repoDir = store.repoDir(app);
    if (await repoExists(repoDir)) await installHook(repoDir, app, hook);
  }
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  // Searchable but not listable: nginx's unprivileged workers pass through it to the app sockets.
  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o711 });
  await fs.chmod(options.dataDir, 0o711);
  const ownership = await claimDataDir(options.dataDir);
  const { token, file: tokenFile } = await loadOrCreateToken(options.dataDir, options.token);
  const runtime = await DockerRuntime.connect(options.instance);
  const proxy = await DataPlane.create({ bin: options.nginxBin, dir: path.join(options.dataDir, 'nginx'), httpPort: options.httpPort, domain: options.domain, drainTimeoutSeconds: options.drainTimeoutSeconds });
  await proxy.ensureRunning();
  const pluginDirs = [BUILTIN_PLUGINS_DIR, path.join(options.dataDir, 'plugins'), ...options.pluginDirs];
  const plugins = await loadPlugins(pluginDirs);
  const store = new Store(options.dataDir);
  const pipeline = new DeployPipeline({ options, runtime, store, proxy, plugins });

  const runDir = path.join(options.dataDir, 'run');
  await fs.mkdir(runDir, { recursive: true, mode: 0o700 });
  const hookSocket = path.join(runDir, 'hooks.sock');
  if (hookSocket.length > MAX_SOCKET_PATH) throw new BerthError(`the data dir path is too long for a unix socket (${hookSocket})`, 'use a shorter --data-dir');
  const hook = findHookTools(hookSocket);
  await fs.rm(hookSocket, { force: true });
  const locks = new AppLocks();
  const reconciler = new Reconciler({ options, runtime, store, proxy, locks, log });
  await reconciler.recoverAll();
  reconciler.watch();
  const hookServer = createHookServer({ store, locks, pipeline });
  await listen(hookServer, { path: hookSocket });
  await fs.chmod(hookSocket, 0o600);
  await refreshHooks(store, hook);

  const handleGit = createGitHandler({ store, createAppsOnPush: options.createAppsOnPush, hook, logger: log });
  const handleApi = createApiHandler(new AppService({ options, runtime, store, proxy, pipeline, locks, hook }), Date.now());
  const gitServer = http.createServer((req, res) => {
    if (!requestHasToken(req, token)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="berth"', 'content-type': req.url?.startsWith('/api/') ? 'application/json' : 'text/plain; charset=utf-8' });
      if (req.url?.startsWith('/api/')) res.end(JSON.stringify({ error: 'a valid token is needed', hint: 'set BERTH_TOKEN (berth prints it at start; it is in DATA_DIR/token)' }) + '\n');
      else res.end('berth: a valid token is needed. Use http://berth:TOKEN@HOST:PORT/APP.git as the remote URL.\n');
      return;
    }
    (req.url?.startsWith('/api/') ? handleApi : handleGit)(req, res).catch((error: unknown) => {
      log(`git request ${req.url} failed: ${describe(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`berth: ${describe(error)}\n`);
    });
  });
  // Deploys run inside the push request; their length is bounded by the deploy timeout, not by idle timers.
  gitServer.requestTimeout = 0;
  gitServer.headersTimeout = 60_000;
  await listen(gitServer, { port: options.gitPort, host: options.listenHost });
  const gitPort = (gitServer.address() as { port: number }).port;

  log(`plugins: ${plugins.map((p) => `${p.name} (${[...p.handlers.keys()].join(', ')})`).join('; ') || 'none'}`);
  log(`nginx serves apps at http://APP.${options.domain}:${options.httpPort}/ (edge ${proxy.edge.prefix}, switch ${proxy.switchTier.prefix})`);
  log(`git push server and admin API listening on ${options.listenHost}:${gitPort}`);
  log(`push with: git remote add deploy http://berth:${token}@<this-host>:${gitPort}/APP.git`);
  if (tokenFile) log(`token stored in ${tokenFile}`);
  if (!(await runtime.keepsContainersOnRestart())) log('warning: the Docker engine runs without live-restore, so restarting it stops every app until it is back; set "live-restore": true in /etc/docker/daemon.json');

  return {
    gitPort,
    token,
    close: async () => {
      await Promise.all([new Promise((r) => gitServer.close(r)), new Promise((r) => hookServer.close(r)), reconciler.stop()]);
      await ownership.release();
    },
  };
}
