import fs from 'node:fs/promises';
import path from 'node:path';
import type { ReleaseRecord } from '../src/store/store.js';
import { AppRepo } from '../test/support/app.js';
import { startBerth, type BerthInstance } from '../test/support/berth.js';
import { berthCli } from '../test/support/cli.js';
import { startLab } from '../test/support/lab.js';
import { freePort } from '../test/support/ports.js';
import { CaddyBaseline } from './caddy-baseline.js';
import type { BaselineContainers } from './containers.js';
import { berthMemoryMiB } from './memory.js';
import { NginxBaseline } from './nginx-baseline.js';
import type { BerthDeploy } from './report.js';
import type { BenchCertificate } from './tls.js';
import { SWARM_NODES, type VariantKey } from './variants.js';

export const APP = 'bench';
export const HOST = `${APP}.localhost`;
/** The TLS server name of the HTTPS variants: wrk takes it from the URL, and only localhost resolves here. */
export const TLS_NAME = 'localhost';

/** The swarm lab the bench brings up and down (scripts/lab.sh BERTH_LAB): a number of its own, never the default lab a user tries things in. */
const BENCH_LAB = '9';

/** One set-up under load: where the load goes, and how to deploy it once (absent: it is never deployed). */
export interface Target {
  url: string;
  deploy?(index: number): Promise<BerthDeploy | undefined>;
  memory?(): Promise<{ server: number; nginx: number }>;
  close(): Promise<void>;
}

export interface TargetContext {
  containers: BaselineContainers;
  instance: string;
  certificate: () => Promise<BenchCertificate>;
}

export async function startTarget(key: VariantKey, context: TargetContext): Promise<Target> {
  switch (key) {
    case 'direct':
      return directTarget(context.containers);
    case 'a':
    case 'b':
    case 'b-tls':
      return nginxTarget(key, context);
    case 'd': {
      const caddy = await CaddyBaseline.start({ containers: context.containers, port: await freePort() });
      return { url: `http://127.0.0.1:${caddy.port}/`, deploy: async (i) => (await caddy.deploy(i), undefined), close: () => caddy.close() };
    }
    case 'c':
    case 'c-tls':
    case 'c-stop':
      return berthTarget(context, key);
    case 'c-swarm':
      return swarmBerthTarget(context);
  }
}

async function directTarget(containers: BaselineContainers): Promise<Target> {
  const container = await containers.start(0);
  return { url: `http://${container.ip}:5000/`, close: () => containers.retire(container) };
}

async function nginxTarget(key: 'a' | 'b' | 'b-tls', context: TargetContext): Promise<Target> {
  const tls = key === 'b-tls' ? await context.certificate() : undefined;
  const strategy = key === 'a' ? 'stop-then-start' : 'reload-per-deploy';
  const baseline = await NginxBaseline.start({ strategy, containers: context.containers, port: await freePort(), tls });
  const url = tls ? `https://${TLS_NAME}:${baseline.port}/` : `http://127.0.0.1:${baseline.port}/`;
  return { url, deploy: async (i) => (await baseline.deploy(i), undefined), close: () => baseline.close() };
}

async function berthTarget(context: TargetContext, key: 'c' | 'c-tls' | 'c-stop'): Promise<Target> {
  const tls = key === 'c-tls';
  const httpsPort = await freePort();
  const berth = await startBerth({ instance: `${context.instance}${key === 'c' ? '' : key.slice(1)}`, args: ['--https-port', String(httpsPort)] });
  const repo = await AppRepo.create();
  const first = await repo.push(berth.remote(APP));
  if (first.code !== 0) throw new Error(`the first push failed:\n${first.output}`);
  if (tls) await serveOverHttps(berth, await context.certificate());
  if (key === 'c-stop') await runBerth(berth, [['deploy:set', APP, 'order', 'stop-first']]);
  return {
    url: tls ? `https://${TLS_NAME}:${httpsPort}/` : `http://127.0.0.1:${berth.httpPort}/`,
    deploy: (i) => pushRelease(berth, repo, i),
    memory: () => berthMemoryMiB(berth.pid, berth.dataDir),
    close: async () => {
      await berth.destroy();
      await repo.remove();
    },
  };
}

/**
 * berth with the swarm scheduler, as a user sets it up: a lab of three engines, each added with
 * nodes:add, the app pushed and scaled to one web container per node. Closing it (or a failure on
 * the way) removes berth, its registry, the repo and the whole lab.
 */
async function swarmBerthTarget(context: TargetContext): Promise<Target> {
  const lab = await startLab(SWARM_NODES, BENCH_LAB);
  let berth: BerthInstance | undefined;
  let repo: AppRepo | undefined;
  const close = async () => {
    await berth?.destroy();
    await repo?.remove();
    await lab.down();
  };
  try {
    berth = await startBerth({ instance: `${context.instance}-swarm`, args: ['--swarm-engine', lab.engines[0], '--registry-port', String(await freePort()), '--scheduler', 'swarm'] });
    await runBerth(berth, lab.engines.map((engine) => ['nodes:add', engine]));
    repo = await AppRepo.create();
    const first = await repo.push(berth.remote(APP));
    if (first.code !== 0) throw new Error(`the first push to the swarm failed:\n${first.output}`);
    await runBerth(berth, [['ps:scale', APP, `web=${SWARM_NODES}`]]);
  } catch (error) {
    await close();
    throw error;
  }
  const [live, pushed] = [berth, repo];
  return { url: `http://127.0.0.1:${live.httpPort}/`, deploy: (i) => pushRelease(live, pushed, i), memory: () => berthMemoryMiB(live.pid, live.dataDir), close };
}

/** berth commands as a user types them, one after the other; any that fails stops the bench. */
async function runBerth(berth: BerthInstance, commands: string[][]): Promise<void> {
  for (const args of commands) {
    const result = await berthCli(berth, args);
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
  }
}

/** As a user would: the name the certificate is for, then the certificate. */
async function serveOverHttps(berth: BerthInstance, certificate: BenchCertificate): Promise<void> {
  await runBerth(berth, [['domains:add', APP, TLS_NAME], ['certs:add', APP, '--cert', certificate.certFile, '--key', certificate.keyFile]]);
}

/** One push, timed from `git push` to the switch as berth recorded it. */
export async function pushRelease(berth: BerthInstance, repo: AppRepo, i: number, app = APP): Promise<BerthDeploy> {
  await repo.commit({ 'version.txt': `v${i}\n` }, `v${i}`);
  const pushedAt = Date.now();
  const push = await repo.push(berth.remote(app));
  const endedAt = Date.now();
  if (push.code !== 0) throw new Error(`push ${i} failed:\n${push.output}`);
  const release = Number(/release (\d+) deployed/.exec(push.output)?.[1]);
  const record = JSON.parse(await fs.readFile(path.join(berth.dataDir, 'apps', app, 'releases', `${release}.json`), 'utf8')) as ReleaseRecord;
  const stage = (name: string) => record.stageMs[name] ?? 0;
  const pushToLiveMs = Date.parse(record.liveAt!) - pushedAt;
  const floorMs = stage('build') + stage('start') + stage('check');
  return { release, pushToLiveMs, pushMs: endedAt - pushedAt, receiveMs: Date.parse(record.createdAt) - pushedAt, stageMs: record.stageMs, floorMs, overheadMs: pushToLiveMs - floorMs };
}
