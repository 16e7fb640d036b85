/**
 * npm run bench [-- --deploys N --connections N --threads N --steady S --kinds get,post,close --variants a,b,c]
 *
 * Deploys the same sample app again and again under the same wrk load through three set-ups:
 * (a) stop-then-start, (b) one nginx reloaded per deploy (Dokku's way), (c) berth, with real
 * git pushes, Docker and nginx. Prints a markdown table and writes it with the JSON to bench/results/.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { PACKAGE_ROOT } from '../src/paths.js';
import { sleep } from '../src/time.js';
import type { ReleaseRecord } from '../src/store/store.js';
import { AppRepo, SAMPLE_APP_DIR } from '../test/support/app.js';
import { startBerth, type BerthInstance } from '../test/support/berth.js';
import { ensureTestBaseImage } from '../test/support/docker.js';
import { freePort } from '../test/support/ports.js';
import { Baseline } from './baseline.js';
import { berthMemoryMiB } from './memory.js';
import { renderReport, type BenchResult, type BerthDeploy, type VariantResult } from './report.js';
import { runWrk, type LoadKind, type LoadSpec, type WrkResult } from './wrk.js';

const run = promisify(execFile);

interface Flags {
  deploys: number;
  connections: number;
  threads: number;
  steady: number;
  kinds: LoadKind[];
  variants: ('a' | 'b' | 'c')[];
}

const VARIANT_NAMES = { a: '(a) stop-then-start', b: '(b) one nginx, reload per deploy', c: '(c) berth' } as const;
const APP = 'bench';
const HOST = `${APP}.localhost`;
const INSTANCE = `test-bench-${process.pid}`;
// The baselines' containers, images and network, apart from the berth instance that cleans up its own.
const BASELINE_INSTANCE = `${INSTANCE}-baseline`;
const LABELS = { 'berth.instance': BASELINE_INSTANCE };

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { deploys: 10, connections: 64, threads: 2, steady: 6, kinds: ['get'], variants: ['a', 'b', 'c'] };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === '--deploys') flags.deploys = Number(value);
    else if (name === '--connections') flags.connections = Number(value);
    else if (name === '--threads') flags.threads = Number(value);
    else if (name === '--steady') flags.steady = Number(value);
    else if (name === '--kinds') flags.kinds = value.split(',') as LoadKind[];
    else if (name === '--variants') flags.variants = value.split(',') as Flags['variants'];
    else throw new Error(`unknown flag ${name}`);
  }
  if (flags.kinds.some((k) => !['get', 'post', 'close'].includes(k))) throw new Error('--kinds takes get, post and close');
  if (flags.variants.some((v) => !['a', 'b', 'c'].includes(v))) throw new Error('--variants takes a, b and c');
  return flags;
}

async function buildBaselineImages(): Promise<string[]> {
  const images: string[] = [];
  for (const version of ['va', 'vb']) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-bench-app-'));
    await fs.cp(SAMPLE_APP_DIR, dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'version.txt'), `${version}\n`);
    const image = `${BASELINE_INSTANCE}/app:${version}`;
    await run('docker', ['build', '-q', '-t', image, '--label', `berth.instance=${BASELINE_INSTANCE}`, dir]);
    await fs.rm(dir, { recursive: true, force: true });
    images.push(image);
  }
  return images;
}

/** One deploy target: how to deploy it once, and where the load goes. */
interface Target {
  port: number;
  deploy(index: number): Promise<BerthDeploy | undefined>;
  memory?(): Promise<{ server: number; nginx: number }>;
  close(): Promise<void>;
}

async function baselineTarget(strategy: 'stop-then-start' | 'reload-per-deploy', network: string, images: string[]): Promise<Target> {
  const baseline = await Baseline.start({ strategy, network, images, labels: LABELS, port: await freePort() });
  return { port: baseline.port, deploy: async (i) => (await baseline.deploy(i), undefined), close: () => baseline.close() };
}

async function berthTarget(): Promise<Target> {
  const berth: BerthInstance = await startBerth({ instance: INSTANCE });
  const repo = await AppRepo.create();
  const first = await repo.push(berth.remote(APP));
  if (first.code !== 0) throw new Error(`the first push failed:\n${first.output}`);
  return {
    port: berth.httpPort,
    deploy: async (i) => {
      await repo.commit({ 'version.txt': `v${i}\n` }, `v${i}`);
      const pushedAt = Date.now();
      const push = await repo.push(berth.remote(APP));
      const endedAt = Date.now();
      if (push.code !== 0) throw new Error(`push ${i} failed:\n${push.output}`);
      const release = Number(/release (\d+) deployed/.exec(push.output)?.[1]);
      const record = JSON.parse(await fs.readFile(path.join(berth.dataDir, 'apps', APP, 'releases', `${release}.json`), 'utf8')) as ReleaseRecord;
      const stage = (name: string) => record.stageMs[name] ?? 0;
      const pushToLiveMs = Date.parse(record.liveAt!) - pushedAt;
      const floorMs = stage('build') + stage('start') + stage('check');
      return { release, pushToLiveMs, pushMs: endedAt - pushedAt, receiveMs: Date.parse(record.createdAt) - pushedAt, stageMs: record.stageMs, floorMs, overheadMs: pushToLiveMs - floorMs };
    },
    memory: () => berthMemoryMiB(berth.pid, berth.dataDir),
    close: async () => {
      await berth.destroy();
      await repo.remove();
    },
  };
}

const STEADY_ROUNDS = 3;

/**
 * Steady state is measured in rounds that alternate between the variants, all of them up at
 * once, so a slow moment of the machine does not land on one variant only; the median round counts.
 */
async function measureSteady(targets: Map<'a' | 'b' | 'c', Target>, load: LoadSpec, flags: Flags): Promise<Map<'a' | 'b' | 'c', WrkResult>> {
  const rounds = new Map<'a' | 'b' | 'c', WrkResult[]>();
  process.stdout.write(`  steady state: ${STEADY_ROUNDS} rounds of ${flags.steady} s per variant ...`);
  for (let round = 0; round < STEADY_ROUNDS; round++) {
    for (const [key, target] of targets) {
      const result = await runWrk(`http://127.0.0.1:${target.port}/`, HOST, load, flags.steady);
      rounds.set(key, [...(rounds.get(key) ?? []), result]);
    }
  }
  process.stdout.write(' done\n');
  const medians = new Map<'a' | 'b' | 'c', WrkResult>();
  for (const [key, results] of rounds) medians.set(key, [...results].sort((x, y) => x.requestsPerSecond - y.requestsPerSecond)[Math.floor(results.length / 2)]);
  return medians;
}

/**
 * One deploy of each variant without load sets a common pace, slow enough for the slowest, so
 * every variant gets the same number of deploys in the same load window.
 */
async function commonCadenceMs(targets: Map<'a' | 'b' | 'c', Target>): Promise<number> {
  let slowest = 0;
  for (const target of targets.values()) {
    const started = Date.now();
    await target.deploy(0);
    slowest = Math.max(slowest, Date.now() - started);
  }
  return Math.max(2000, Math.ceil((slowest * 2.5) / 1000) * 1000);
}

async function measureDeploys(key: 'a' | 'b' | 'c', target: Target, load: LoadSpec, flags: Flags, steady: WrkResult, cadenceMs: number): Promise<VariantResult> {
  const url = `http://127.0.0.1:${target.port}/`;
  const windowSeconds = Math.ceil((1000 + flags.deploys * cadenceMs + 1000) / 1000);
  process.stdout.write(`  ${VARIANT_NAMES[key]}: ${flags.deploys} deploys, one every ${cadenceMs / 1000} s, under load for ${windowSeconds} s ...`);
  const loadStarted = Date.now();
  const during = runWrk(url, HOST, load, windowSeconds);
  const memory = { server: 0, nginx: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling && target.memory) {
      const now = await target.memory();
      memory.server = Math.max(memory.server, now.server);
      memory.nginx = Math.max(memory.nginx, now.nginx);
      await sleep(500);
    }
  })();
  await sleep(1000);
  const deploys: BerthDeploy[] = [];
  let outsideWindow = 0;
  for (let i = 1; i <= flags.deploys; i++) {
    const timing = await target.deploy(i);
    if (timing) deploys.push(timing);
    if (Date.now() > loadStarted + windowSeconds * 1000) outsideWindow++;
    const nextSlot = loadStarted + 1000 + i * cadenceMs;
    await sleep(Math.max(0, nextSlot - Date.now()));
  }
  const duringResult: WrkResult = await during;
  sampling = false;
  await sampler;
  process.stdout.write(' done\n');
  return {
    key,
    name: VARIANT_NAMES[key],
    steady,
    during: duringResult,
    deploys: flags.deploys,
    cadenceSeconds: cadenceMs / 1000,
    deploysOutsideLoad: outsideWindow,
    berthDeploys: deploys,
    memoryMiB: target.memory ? memory : undefined,
  };
}

async function startTarget(key: 'a' | 'b' | 'c', network: string, images: string[]): Promise<Target> {
  if (key === 'c') return berthTarget();
  return baselineTarget(key === 'a' ? 'stop-then-start' : 'reload-per-deploy', network, images);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const started = Date.now();
  const docker = new Docker();
  await ensureTestBaseImage();
  const network = BASELINE_INSTANCE;
  await docker.createNetwork({ Name: network, Labels: LABELS });
  const images = await buildBaselineImages();
  const result: BenchResult = { date: new Date().toISOString(), flags, host: { cpus: os.cpus().length, nginx: (await run('nginx', ['-v'])).stderr.trim() }, runs: [] };
  try {
    for (const kind of flags.kinds) {
      const load: LoadSpec = { kind, connections: flags.connections, threads: flags.threads };
      console.log(`load: wrk -t${load.threads} -c${load.connections}, ${kind}`);
      const targets = new Map<'a' | 'b' | 'c', Target>();
      const variants: VariantResult[] = [];
      try {
        for (const key of flags.variants) targets.set(key, await startTarget(key, network, images));
        const steady = await measureSteady(targets, load, flags);
        const cadenceMs = await commonCadenceMs(targets);
        for (const [key, target] of targets) variants.push(await measureDeploys(key, target, load, flags, steady.get(key)!, cadenceMs));
      } finally {
        for (const target of targets.values()) await target.close();
      }
      result.runs.push({ load, variants });
    }
  } finally {
    for (const c of await docker.listContainers({ all: true, filters: { label: [`berth.instance=${BASELINE_INSTANCE}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    await docker.getNetwork(network).remove().catch(() => undefined);
    for (const image of images) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
  }
  result.seconds = Math.round((Date.now() - started) / 1000);
  const markdown = renderReport(result);
  console.log('\n' + markdown);
  const dir = path.join(PACKAGE_ROOT, 'bench', 'results');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
  await fs.writeFile(path.join(dir, 'latest.md'), markdown);
  console.log(`written: bench/results/latest.md and latest.json (${result.seconds} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
