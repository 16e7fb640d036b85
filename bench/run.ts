/**
 * npm run bench [-- --deploys N --connections N --threads N --steady S --kinds get,post,close --variants direct,a,b,d,c,c-stop,b-tls,c-tls,c-swarm]
 * npm run bench -- --scheduler swarm [...]: also (c-swarm) berth with the swarm scheduler, web=3 over a lab of three nodes
 * npm run bench -- --apps N
 *
 * Deploys the same sample app again and again under the same wrk load through every set-up of
 * bench/variants.ts: straight to the container (the limit, never deployed), (a) stop-then-start,
 * (b) one nginx reloaded per deploy (Dokku's way), (d) Caddy with its upstream swapped through its
 * admin API, (c) berth, and (b) and (c) over HTTPS, with real git pushes, Docker, nginx and Caddy.
 * With --scheduler swarm, berth's swarm scheduler beside them (written to bench/results/swarm.*): the
 * bench brings up its own lab (scripts/lab.sh, BERTH_LAB, default 9) and removes it afterwards.
 * With --apps N it instead measures one app's deploys with N other apps live against none
 * (bench/apps.ts). Prints a markdown table and writes it with the JSON to bench/results/.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { PACKAGE_ROOT } from '../src/paths.js';
import { sleep } from '../src/time.js';
import { SAMPLE_APP_DIR } from '../test/support/app.js';
import { ensureTestBaseImage } from '../test/support/docker.js';
import { measureApps } from './apps.js';
import { BaselineContainers } from './containers.js';
import { renderAppsReport, renderReport, type BenchResult, type VariantResult } from './report.js';
import { HOST, startTarget, type Target, type TargetContext } from './targets.js';
import { benchCertificate, type BenchCertificate } from './tls.js';
import { DEFAULT_VARIANT_KEYS, VARIANT_KEYS, VARIANTS, type VariantKey } from './variants.js';
import { checkScheduler, type SchedulerName } from '../src/model/scheduler.js';
import { runWrk, type LoadKind, type LoadSpec, type WrkResult } from './wrk.js';

const run = promisify(execFile);

interface Flags {
  deploys: number;
  connections: number;
  threads: number;
  steady: number;
  kinds: LoadKind[];
  variants: VariantKey[];
  apps: number | undefined;
  scheduler: SchedulerName;
}

const INSTANCE = `test-bench-${process.pid}`;
// The baselines' containers, images and network, apart from the berth instances that clean up their own.
const BASELINE_INSTANCE = `${INSTANCE}-baseline`;
const LABELS = { 'berth.instance': BASELINE_INSTANCE };

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { deploys: 10, connections: 64, threads: 2, steady: 6, kinds: ['get'], variants: [...DEFAULT_VARIANT_KEYS], apps: undefined, scheduler: 'local' };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === '--deploys') flags.deploys = Number(value);
    else if (name === '--connections') flags.connections = Number(value);
    else if (name === '--threads') flags.threads = Number(value);
    else if (name === '--steady') flags.steady = Number(value);
    else if (name === '--kinds') flags.kinds = value.split(',') as LoadKind[];
    else if (name === '--variants') flags.variants = value.split(',') as VariantKey[];
    else if (name === '--apps') flags.apps = Number(value);
    else if (name === '--scheduler') flags.scheduler = checkScheduler(value);
    else throw new Error(`unknown flag ${name}`);
  }
  if (flags.kinds.some((k) => !['get', 'post', 'close'].includes(k))) throw new Error('--kinds takes get, post and close');
  if (flags.variants.some((v) => !VARIANT_KEYS.includes(v))) throw new Error(`--variants takes ${VARIANT_KEYS.join(', ')}`);
  if (flags.apps !== undefined && !(Number.isInteger(flags.apps) && flags.apps >= 1)) throw new Error('--apps takes a whole number of apps, at least 1');
  // berth's rows under the swarm scheduler beside the ones under the local one, in the same run.
  if (flags.scheduler === 'swarm' && !flags.variants.includes('c-swarm')) flags.variants.push('c-swarm');
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

const STEADY_ROUNDS = 3;

/**
 * Steady state is measured in rounds that alternate between the variants, all of them up at
 * once, so a slow moment of the machine does not land on one variant only; the median round counts.
 */
async function measureSteady(targets: Map<VariantKey, Target>, load: LoadSpec, flags: Flags): Promise<Map<VariantKey, WrkResult>> {
  const rounds = new Map<VariantKey, WrkResult[]>();
  process.stdout.write(`  steady state: ${STEADY_ROUNDS} rounds of ${flags.steady} s per variant ...`);
  for (let round = 0; round < STEADY_ROUNDS; round++) {
    for (const [key, target] of targets) {
      const result = await runWrk(target.url, HOST, load, flags.steady);
      rounds.set(key, [...(rounds.get(key) ?? []), result]);
    }
  }
  process.stdout.write(' done\n');
  const medians = new Map<VariantKey, WrkResult>();
  for (const [key, results] of rounds) medians.set(key, [...results].sort((x, y) => x.requestsPerSecond - y.requestsPerSecond)[Math.floor(results.length / 2)]);
  return medians;
}

/**
 * One deploy of each variant without load sets a common pace, slow enough for the slowest, so
 * every variant gets the same number of deploys in the same load window.
 */
async function commonCadenceMs(targets: Map<VariantKey, Target>): Promise<number> {
  let slowest = 0;
  const took: string[] = [];
  for (const [key, target] of targets) {
    if (!target.deploy) continue;
    const started = Date.now();
    await target.deploy(0);
    slowest = Math.max(slowest, Date.now() - started);
    took.push(`${key} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log(`  one deploy without load: ${took.join(', ')}`);
  return Math.max(2000, Math.ceil((slowest * 2.5) / 1000) * 1000);
}

async function measureDeploys(key: VariantKey, target: Target, load: LoadSpec, flags: Flags, steady: WrkResult, cadenceMs: number): Promise<VariantResult> {
  const result: VariantResult = { key, name: VARIANTS[key].name, steady, during: undefined, deploys: 0, cadenceSeconds: cadenceMs / 1000, deploysOutsideLoad: 0, berthDeploys: [], memoryMiB: undefined };
  if (!target.deploy) return result;
  const windowSeconds = Math.ceil((1000 + flags.deploys * cadenceMs + 1000) / 1000);
  process.stdout.write(`  ${VARIANTS[key].name}: ${flags.deploys} deploys, one every ${cadenceMs / 1000} s, under load for ${windowSeconds} s ...`);
  const loadStarted = Date.now();
  const during = runWrk(target.url, HOST, load, windowSeconds);
  const memory = sampleMemory(target);
  await sleep(1000);
  for (let i = 1; i <= flags.deploys; i++) {
    const timing = await target.deploy(i);
    if (timing) result.berthDeploys.push(timing);
    if (Date.now() > loadStarted + windowSeconds * 1000) result.deploysOutsideLoad++;
    await sleep(Math.max(0, loadStarted + 1000 + i * cadenceMs - Date.now()));
  }
  result.during = await during;
  result.memoryMiB = await memory.stop();
  result.deploys = flags.deploys;
  process.stdout.write(' done\n');
  return result;
}

/** The peak resident memory of the target's own processes while it deploys, sampled every 0.5 s. */
function sampleMemory(target: Target): { stop(): Promise<{ server: number; nginx: number } | undefined> } {
  if (!target.memory) return { stop: async () => undefined };
  const peak = { server: 0, nginx: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = await target.memory!();
      peak.server = Math.max(peak.server, now.server);
      peak.nginx = Math.max(peak.nginx, now.nginx);
      await sleep(500);
    }
  })();
  return {
    stop: async () => {
      sampling = false;
      await sampler;
      return peak;
    },
  };
}

/** One load kind: every variant up at once for the steady rounds, then each deployed under load in turn. */
async function measureLoad(load: LoadSpec, flags: Flags, context: TargetContext): Promise<VariantResult[]> {
  console.log(`load: wrk -t${load.threads} -c${load.connections}, ${load.kind}`);
  const targets = new Map<VariantKey, Target>();
  const variants: VariantResult[] = [];
  try {
    for (const key of flags.variants) targets.set(key, await startTarget(key, context));
    const steady = await measureSteady(targets, load, flags);
    const cadenceMs = await commonCadenceMs(targets);
    for (const [key, target] of targets) variants.push(await measureDeploys(key, target, load, flags, steady.get(key)!, cadenceMs));
  } finally {
    for (const target of targets.values()) await target.close();
  }
  return variants;
}

async function withBaselines<T>(work: (context: TargetContext) => Promise<T>): Promise<T> {
  const docker = new Docker();
  await ensureTestBaseImage();
  const network = BASELINE_INSTANCE;
  await docker.createNetwork({ Name: network, Labels: LABELS });
  const images = await buildBaselineImages();
  let certificate: Promise<BenchCertificate> | undefined;
  const context: TargetContext = { containers: new BaselineContainers(network, images, LABELS), instance: INSTANCE, certificate: () => (certificate ??= benchCertificate(['localhost', HOST])) };
  try {
    return await work(context);
  } finally {
    for (const c of await docker.listContainers({ all: true, filters: { label: [`berth.instance=${BASELINE_INSTANCE}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    await docker.getNetwork(network).remove().catch(() => undefined);
    for (const image of images) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
    await (await certificate)?.remove();
  }
}

async function writeResults(name: string, markdown: string, json: unknown): Promise<void> {
  console.log('\n' + markdown);
  const dir = path.join(PACKAGE_ROOT, 'bench', 'results');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
  await fs.writeFile(path.join(dir, `${name}.md`), markdown);
  console.log(`written: bench/results/${name}.md and ${name}.json`);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const started = Date.now();
  const host = { cpus: os.cpus().length, nginx: (await run('nginx', ['-v'])).stderr.trim() };
  if (flags.apps !== undefined) {
    const apps = await measureApps(flags.apps, INSTANCE);
    return writeResults('apps', renderAppsReport({ date: new Date().toISOString(), host, ...apps }), apps);
  }
  const result: BenchResult = { date: new Date().toISOString(), flags, host, runs: [] };
  await withBaselines(async (context) => {
    for (const kind of flags.kinds) {
      const load: LoadSpec = { kind, connections: flags.connections, threads: flags.threads };
      result.runs.push({ load, variants: await measureLoad(load, flags, context) });
    }
  });
  result.seconds = Math.round((Date.now() - started) / 1000);
  await writeResults(flags.scheduler === 'swarm' ? 'swarm' : 'latest', renderReport(result), result);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
