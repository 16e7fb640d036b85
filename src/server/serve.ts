import fs from 'node:fs/promises';
import type http from 'node:http';
import type https from 'node:https';
import path from 'node:path';
import { createApiHandler } from '../api/router.js';
import { createRunSocketHandler } from '../api/run-socket.js';
import { AppService } from '../apps/service.js';
import { loadAcmeCa } from '../certs/acme.js';
import { gitPortAcmeName, storedGitPortCertificate } from '../certs/git-port-certificate.js';
import { startCertificates } from '../certs/start.js';
import { CertStore } from '../certs/store.js';
import { AppLocks } from '../deploy/lock.js';
import { CronScheduler } from '../deploy/cron.js';
import { Housekeeping, type HousekeepingDeps } from '../deploy/housekeeping.js';
import { LivenessMonitor } from '../deploy/liveness.js';
import { DeployPipeline } from '../deploy/pipeline.js';
import { liveRoute, Reconciler } from '../deploy/reconcile.js';
import { BUILTIN_PLUGINS_DIR } from '../paths.js';
import { loadPlugins } from '../plugins/loader.js';
import type { Plugin } from '../plugins/types.js';
import { DataPlane, workerPassages } from '../proxy/data-plane.js';
import type { SwitchRequest } from '../proxy/reverse-proxy.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import type { Runtime } from '../runtime/runtime.js';
import { localUrl } from '../model/local-server.js';
import { STORAGE_DIR } from '../model/storage.js';
import { claimDataDir } from '../store/owner.js';
import { PASSAGE_MODE, PRIVATE_UMASK, tightenDataDir } from '../store/permissions.js';
import { Store } from '../store/store.js';
import { acmeCertificate, certificateToServe, publishLocalServer, useCertificate, type AcmeServed, type ServedCertificate } from './certificate.js';
import { createGitHandler } from './git-http.js';
import { gitPortAnnouncement } from './git-port-announce.js';
import { createGitPortServer } from './git-port.js';
import { startHookServer } from './hook-server.js';
import { listen } from './listen.js';
import type { ServeOptions } from './options.js';
import { connectSwarm } from './swarm.js';
import { loadOrCreateToken, type ServeToken } from './token.js';

export interface RunningServer {
  gitPort: number;
  token: string;
  close(): Promise<void>;
}

function log(line: string): void {
  process.stdout.write(`[berth] ${line}\n`);
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  process.umask(PRIVATE_UMASK);
  // Searchable but not listable: nginx's unprivileged workers pass through it to the app sockets.
  await fs.mkdir(options.dataDir, { recursive: true, mode: PASSAGE_MODE });
  await fs.chmod(options.dataDir, PASSAGE_MODE);
  const ownership = await claimDataDir(options.dataDir);
  const tightened = await tightenDataDir(options.dataDir, workerPassages(path.join(options.dataDir, 'nginx')), path.join(options.dataDir, STORAGE_DIR));
  if (tightened) log(`made ${tightened} file(s) and folder(s) in ${options.dataDir} readable by berth's user only (they were open to others)`);
  const serveToken = await loadOrCreateToken(options.dataDir, options.token, options.tokenFile);
  const { token } = serveToken;
  // Before anything else starts: a certificate that cannot serve stops berth here, naming the file.
  const certStore = new CertStore(options.dataDir);
  const certificate = options.insecureHttp ? undefined : await certificateToServe(options, await storedAcmeCertificate(options, certStore));
  let served = certificate;
  const acmeCa = await loadAcmeCa(options.acmeCaFile);
  const runtime = await DockerRuntime.connect(options.instance);
  const store = new Store(options.dataDir);
  const proxy = await DataPlane.create({ bin: options.nginxBin, dir: path.join(options.dataDir, 'nginx'), httpPort: options.httpPort, httpsPort: options.httpsPort, domain: options.domain, drainTimeoutSeconds: options.drainTimeoutSeconds, log });
  if (!proxy.hasRouteTable) proxy.seed(await recordedRoutes(store, options.domain));
  await proxy.ensureRunning();
  const plugins = await loadPlugins([BUILTIN_PLUGINS_DIR, path.join(options.dataDir, 'plugins'), ...options.pluginDirs]);
  const swarm = await connectSwarm(options, runtime);
  const { schedulers } = swarm;
  const pipeline = new DeployPipeline({ options, runtime, schedulers, store, proxy, plugins });
  const locks = new AppLocks();
  const reconciler = new Reconciler({ options, runtime, schedulers, store, proxy, locks, log, plugins });
  await reconciler.recoverAll();
  reconciler.watch();
  const background = startBackground({ options, runtime, store, locks, log });
  const certs = await startCertificates({ options, acmeCa, certStore, store, proxy, locks, log });
  const hooks = await startHookServer(options.dataDir, { store, locks, pipeline });
  const service = new AppService({ options, runtime, store, proxy, pipeline, locks, hook: hooks.hook, certs: certs.certificates, cron: background.cron, gitPort: { served: () => served, acme: certs.gitPort }, liveness: background.liveness, cluster: swarm.cluster, schedulers });
  const gitServer = gitPortServer({ options, token, store, service, runtime, certificate });
  await listen(gitServer, { port: options.gitPort, host: options.listenHost });
  const gitPort = (gitServer.address() as { port: number }).port;
  await publishLocalServer(options.dataDir, localUrl(options.listenHost, gitPort, certificate ? 'https' : 'http'), certificate);
  await announce({ options, plugins, proxy, runtime, gitPort, token: serveToken, certificate });
  certs.serveGitPortWith(async (pair) => {
    const issued = acmeCertificate(pair);
    await useCertificate(gitServer as https.Server, options.dataDir, issued);
    served = issued;
    log(`the git port serves its certificate from ACME from now on: SHA-256 fingerprint ${issued.fingerprint}, valid until ${issued.validTo.toISOString().slice(0, 10)}; clients verify it by the CA (a fingerprint pinned with berth login is no longer needed; git's http.sslCAInfo, if set to berth's self-signed certificate, must be unset)`);
  });
  return {
    gitPort,
    token,
    close: async () => {
      await Promise.all([new Promise((r) => gitServer.close(r)), new Promise((r) => hooks.server.close(r)), reconciler.stop(), background.stop(), certs.stop()]);
      await ownership.release();
    },
  };
}

/** What berth repeats while it runs besides watching nginx and the containers: pruning the disk, liveness checks and cron jobs. */
function startBackground(deps: HousekeepingDeps): { liveness: LivenessMonitor; cron: CronScheduler; stop(): Promise<void> } {
  const housekeeping = new Housekeeping(deps);
  const liveness = new LivenessMonitor(deps);
  const cron = new CronScheduler(deps);
  housekeeping.start();
  liveness.start();
  cron.start();
  return { liveness, cron, stop: async () => void (await Promise.all([housekeeping.stop(), liveness.stop(), cron.stop()])) };
}

/** git pushes, the admin API and berth run -i's websocket, on one port. */
function gitPortServer(parts: { options: ServeOptions; token: string; store: Store; service: AppService; runtime: Runtime; certificate: ServedCertificate | undefined }): http.Server {
  const { options, store, service, runtime } = parts;
  return createGitPortServer({
    token: parts.token,
    handlers: {
      git: createGitHandler({ store, createAppsOnPush: options.createAppsOnPush, maxPushBytes: options.maxPushBytes, createApp: (app) => service.apps.createOnPush(app), logger: log }),
      api: createApiHandler(service, Date.now()),
      upgrade: createRunSocketHandler(service),
    },
    fromContainer: (address) => runtime.isContainerAddress(address),
    log,
    tls: parts.certificate,
  });
}

/** The git port's ACME certificate from an earlier start, when it still fits. */
async function storedAcmeCertificate(options: ServeOptions, certStore: CertStore): Promise<AcmeServed | undefined> {
  const name = gitPortAcmeName(options);
  return name === undefined ? undefined : storedGitPortCertificate(certStore, name, options.acmeDirectory, new Date());
}

/** The routes berth's records give, for an edge that has no route table yet (a data dir of an older berth); the reconciler then checks every one. */
async function recordedRoutes(store: Store, domain: string): Promise<SwitchRequest[]> {
  const routes: SwitchRequest[] = [];
  for (const name of await store.listApps()) {
    const app = await store.getApp(name);
    if (app?.live && !app.stopped) routes.push(liveRoute(app, app.live.containers, domain));
  }
  return routes;
}

/** What an operator needs to know at start: where apps and pushes go, and what to fix. */
async function announce(started: { options: ServeOptions; plugins: Plugin[]; proxy: DataPlane; runtime: Runtime; gitPort: number; token: ServeToken; certificate: ServedCertificate | undefined }): Promise<void> {
  const { options, plugins, proxy, gitPort, token } = started;
  log(`plugins: ${plugins.map((p) => `${p.name} (${[...p.handlers.keys()].join(', ')})`).join('; ') || 'none'}`);
  log(`nginx serves apps at http://APP.${options.domain}:${options.httpPort}/ and https://APP.${options.domain}:${options.httpsPort}/ once an app has a certificate (edge ${proxy.edge.prefix})`);
  for (const line of gitPortAnnouncement(options, gitPort, started.certificate, token)) log(line);
  if (!(await started.runtime.keepsContainersOnRestart())) log('warning: the Docker engine runs without live-restore, so restarting it stops every app until it is back; set "live-restore": true in /etc/docker/daemon.json');
}
