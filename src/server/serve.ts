import fs from 'node:fs/promises';
import path from 'node:path';
import { createApiHandler } from '../api/router.js';
import { AppService } from '../apps/service.js';
import { AppLocks } from '../deploy/lock.js';
import { DeployPipeline } from '../deploy/pipeline.js';
import { Reconciler } from '../deploy/reconcile.js';
import { BUILTIN_PLUGINS_DIR } from '../paths.js';
import { loadPlugins } from '../plugins/loader.js';
import type { Plugin } from '../plugins/types.js';
import { DataPlane } from '../proxy/data-plane.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import type { Runtime } from '../runtime/runtime.js';
import { claimDataDir } from '../store/owner.js';
import { Store } from '../store/store.js';
import { createGitHandler } from './git-http.js';
import { createGitPortServer } from './git-port.js';
import { startHookServer } from './hook-server.js';
import { listen } from './listen.js';
import type { ServeOptions } from './options.js';
import { loadOrCreateToken } from './token.js';

export interface RunningServer {
  gitPort: number;
  token: string;
  close(): Promise<void>;
}

function log(line: string): void {
  process.stdout.write(`[berth] ${line}\n`);
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
  const plugins = await loadPlugins([BUILTIN_PLUGINS_DIR, path.join(options.dataDir, 'plugins'), ...options.pluginDirs]);
  const store = new Store(options.dataDir);
  const pipeline = new DeployPipeline({ options, runtime, store, proxy, plugins });
  const locks = new AppLocks();
  const reconciler = new Reconciler({ options, runtime, store, proxy, locks, log });
  await reconciler.recoverAll();
  reconciler.watch();
  const hooks = await startHookServer(options.dataDir, { store, locks, pipeline });
  const gitServer = createGitPortServer(token, {
    git: createGitHandler({ store, createAppsOnPush: options.createAppsOnPush, hook: hooks.hook, logger: log, maxPushBytes: options.maxPushBytes }),
    api: createApiHandler(new AppService({ options, runtime, store, proxy, pipeline, locks, hook: hooks.hook }), Date.now()),
  }, log);
  await listen(gitServer, { port: options.gitPort, host: options.listenHost });
  const gitPort = (gitServer.address() as { port: number }).port;
  await announce({ options, plugins, proxy, runtime, gitPort, token, tokenFile });
  return {
    gitPort,
    token,
    close: async () => {
      await Promise.all([new Promise((r) => gitServer.close(r)), new Promise((r) => hooks.server.close(r)), reconciler.stop()]);
      await ownership.release();
    },
  };
}

/** What an operator needs to know at start: where apps and pushes go, and what to fix. */
async function announce(started: { options: ServeOptions; plugins: Plugin[]; proxy: DataPlane; runtime: Runtime; gitPort: number; token: string; tokenFile: string | undefined }): Promise<void> {
  const { options, plugins, proxy, gitPort, token, tokenFile } = started;
  log(`plugins: ${plugins.map((p) => `${p.name} (${[...p.handlers.keys()].join(', ')})`).join('; ') || 'none'}`);
  log(`nginx serves apps at http://APP.${options.domain}:${options.httpPort}/ (edge ${proxy.edge.prefix}, switch ${proxy.switchTier.prefix})`);
  log(`git push server and admin API listening on ${options.listenHost}:${gitPort}`);
  log(`push with: git remote add deploy http://berth:${token}@<this-host>:${gitPort}/APP.git`);
  if (tokenFile) log(`token stored in ${tokenFile}`);
  if (!(await started.runtime.keepsContainersOnRestart())) log('warning: the Docker engine runs without live-restore, so restarting it stops every app until it is back; set "live-restore": true in /etc/docker/daemon.json');
}
