import type { LoadSpec, WrkResult } from './wrk.js';
import { PEERS, SWARM_NODES, VARIANTS, type VariantKey } from './variants.js';
import type { AppsResult } from './apps.js';

export interface BerthDeploy {
  release: number;
  /** From `git push` to the switch being complete. */
  pushToLiveMs: number;
  /** The whole push, retirement included. */
  pushMs: number;
  /** From `git push` until berth's hook received it: the git transfer and the hook's start. */
  receiveMs: number;
  stageMs: Record<string, number>;
  /** Build + container start + first passing check: what any deploy has to wait for. */
  floorMs: number;
  overheadMs: number;
}

export interface VariantResult {
  key: VariantKey;
  name: string;
  steady: WrkResult;
  /** Absent for a set-up that is never deployed (straight to the container). */
  during: WrkResult | undefined;
  deploys: number;
  cadenceSeconds: number;
  deploysOutsideLoad: number;
  berthDeploys: BerthDeploy[];
  memoryMiB: { server: number; nginx: number } | undefined;
}

export interface BenchResult {
  date: string;
  flags: unknown;
  host: { cpus: number; nginx: string };
  runs: { load: LoadSpec; variants: VariantResult[] }[];
  seconds?: number;
}

const LOAD_NAMES = { get: 'GET, keep-alive', post: 'POST 2 KiB body, keep-alive', close: 'GET, new connection per request' };

function failures(result: WrkResult): number {
  const e = result.errors;
  return e.connect + e.read + e.write + e.timeout + e.non2xx;
}

function latency(result: WrkResult): string {
  const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
  return `${ms(result.latencyMs.p50)} / ${ms(result.latencyMs.p99)} / ${ms(result.latencyMs.max)}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function variantRows(variants: VariantResult[]): string[] {
  const rows = [
    '| variant | requests during deploys | failed | connect | reset (read/write) | timeout | 5xx | req/s steady (median of 3 rounds) | req/s during deploys | latency ms steady p50 / p99 / max | latency ms during deploys p50 / p99 / max |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const v of variants) {
    const steady = `${v.steady.requestsPerSecond.toFixed(0)}`;
    if (!v.during) {
      rows.push(`| ${v.name} | – | – | – | – | – | – | ${steady} | – | ${latency(v.steady)} | – |`);
      continue;
    }
    const e = v.during.errors;
    rows.push(
      `| ${v.name} | ${v.during.requests} | **${failures(v.during)}** | ${e.connect} | ${e.read + e.write} | ${e.timeout} | ${e.non2xx} | ${steady} | ${v.during.requestsPerSecond.toFixed(0)} | ${latency(v.steady)} | ${latency(v.during)} |`,
    );
  }
  return rows;
}

function berthRows(deploys: BerthDeploy[]): string[] {
  const s = (d: BerthDeploy, stage: string) => ((d.stageMs[stage] ?? 0) / 1000).toFixed(2);
  const rows = ['| release | push to live s | git + hook | build | start | checks | switch | retire | floor | overhead over floor |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const d of deploys) {
    rows.push(`| ${d.release} | ${(d.pushToLiveMs / 1000).toFixed(2)} | ${(d.receiveMs / 1000).toFixed(2)} | ${s(d, 'build')} | ${s(d, 'start')} | ${s(d, 'check')} | ${s(d, 'switch')} | ${s(d, 'retire')} | ${(d.floorMs / 1000).toFixed(2)} | ${(d.overheadMs / 1000).toFixed(2)} |`);
  }
  const med = (pick: (d: BerthDeploy) => number) => (median(deploys.map(pick)) / 1000).toFixed(2);
  rows.push(`| **median** | ${med((d) => d.pushToLiveMs)} | ${med((d) => d.receiveMs)} | ${med((d) => d.stageMs.build ?? 0)} | ${med((d) => d.stageMs.start ?? 0)} | ${med((d) => d.stageMs.check ?? 0)} | ${med((d) => d.stageMs.switch ?? 0)} | ${med((d) => d.stageMs.retire ?? 0)} | ${med((d) => d.floorMs)} | **${med((d) => d.overheadMs)}** |`);
  return rows;
}

/** One berth variant's deploys stage by stage, and its own processes' memory. */
function berthSection(berth: VariantResult | undefined, title: { deploys: string; processes: string }): string[] {
  const out: string[] = [];
  if (berth?.berthDeploys.length) out.push(`${title.deploys} (seconds; floor = build + start + first passing check):`, '', ...berthRows(berth.berthDeploys), '');
  if (berth?.memoryMiB) out.push(`${title.processes}, peak resident memory during deploys: server ${berth.memoryMiB.server.toFixed(0)} MiB, nginx (the edge, all workers) ${berth.memoryMiB.nginx.toFixed(0)} MiB`, '');
  return out;
}

/** The targets of issues 3 and 12, checked here and not in timed tests. */
export function targetLines(variants: VariantResult[]): string[] {
  const lines: string[] = [];
  for (const peer of PEERS) {
    const berth = variants.find((v) => v.key === peer.berth);
    const nginx = variants.find((v) => v.key === peer.nginx);
    if (!berth) continue;
    const name = VARIANTS[peer.berth].name;
    if (berth.during) lines.push(`- ${name}: failed requests during ${berth.deploys} deploys ${failures(berth.during)} (target 0): ${failures(berth.during) === 0 ? 'met' : 'MISSED'}`);
    if (berth.deploysOutsideLoad) lines.push(`- ${name}: ${berth.deploysOutsideLoad} deploy(s) finished after the load window closed`);
    if (!nginx || !peer.nginx) continue;
    const ratio = berth.steady.requestsPerSecond / nginx.steady.requestsPerSecond;
    const p99 = berth.steady.latencyMs.p99 / nginx.steady.latencyMs.p99;
    lines.push(`- ${name}: steady throughput ${ratio.toFixed(2)}x ${VARIANTS[peer.nginx].name} (target at least 0.95x): ${ratio >= 0.95 ? 'met' : 'MISSED'}`);
    lines.push(`- ${name}: steady p99 ${p99.toFixed(2)}x ${VARIANTS[peer.nginx].name}'s (target at most 1.5x): ${p99 <= 1.5 ? 'met' : 'MISSED'}`);
  }
  const deploys = variants.find((v) => v.key === 'c')?.berthDeploys ?? [];
  if (deploys.length) {
    const overhead = median(deploys.map((d) => d.overheadMs)) / 1000;
    lines.push(`- median push-to-live overhead over the floor ${overhead.toFixed(2)} s (target at most 1 s): ${overhead <= 1 ? 'met' : 'MISSED'}`);
  }
  return lines;
}

export function renderReport(result: BenchResult): string {
  const out = [`# berth bench, ${result.date.slice(0, 16).replace('T', ' ')} UTC`, '', `${result.host.cpus} cores, ${result.host.nginx}; command: \`npm run bench -- ${commandFlags(result.flags)}\``, ''];
  for (const { load, variants } of result.runs) {
    out.push(`## ${LOAD_NAMES[load.kind]}: wrk -t${load.threads} -c${load.connections}`, '', ...variantRows(variants), '');
    const berth = variants.find((v) => v.key === 'c') ?? variants.find((v) => v.key === 'c-tls');
    out.push(...berthSection(berth, { deploys: 'berth deploys', processes: "berth's own processes" }));
    out.push(...berthSection(variants.find((v) => v.key === 'c-swarm'), { deploys: `berth deploys with the swarm scheduler (web=${SWARM_NODES} over ${SWARM_NODES} lab nodes)`, processes: "berth's own processes with the swarm scheduler (the lab's engines and containers not counted)" }));
    const deployed = variants.find((v) => v.during);
    if (deployed) out.push(`Each variant that deploys: ${deployed.deploys} deploys, one every ${deployed.cadenceSeconds} s, under load from 1 s before the first to 1 s after the last slot.`, '');
    out.push(...targetLines(variants), '');
  }
  return out.join('\n');
}

/** npm run bench -- --apps N: one app's deploys with N other apps live against none (issue 12: at most 1.1x). */
export function renderAppsReport(result: AppsResult & { date: string; host: { cpus: number; nginx: string } }): string {
  const med = (deploys: BerthDeploy[], pick: (d: BerthDeploy) => number) => median(deploys.map(pick)) / 1000;
  const rows = [
    '| other apps live | push to live s (median) | switch s (median) | server MiB | nginx MiB |',
    '|---|---|---|---|---|',
  ];
  const row = (others: number, deploys: BerthDeploy[], memory: { server: number; nginx: number }) =>
    `| ${others} | ${med(deploys, (d) => d.pushToLiveMs).toFixed(2)} | ${med(deploys, (d) => d.stageMs.switch ?? 0).toFixed(2)} | ${memory.server.toFixed(0)} | ${memory.nginx.toFixed(0)} |`;
  rows.push(row(0, result.alone, result.memoryMiB.alone), row(result.apps, result.withOthers, result.memoryMiB.withOthers));
  const ratio = (pick: (d: BerthDeploy) => number) => med(result.withOthers, pick) / med(result.alone, pick);
  const live = ratio((d) => d.pushToLiveMs);
  const switched = ratio((d) => d.stageMs.switch ?? 0);
  return [
    `# berth bench with ${result.apps} other apps, ${result.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `${result.host.cpus} cores, ${result.host.nginx}; command: \`npm run bench -- --apps ${result.apps}\` (${result.seconds} s); ${result.alone.length} deploys of the measured app each way, no load`,
    '',
    ...rows,
    '',
    `- push to live with ${result.apps} other apps: ${live.toFixed(2)}x alone (target at most 1.1x): ${live <= 1.1 ? 'met' : 'MISSED'}`,
    `- switch with ${result.apps} other apps: ${switched.toFixed(2)}x alone (target at most 1.1x): ${switched <= 1.1 ? 'met' : 'MISSED'}`,
    '',
  ].join('\n');
}

/** The run's flags as they would be typed again, e.g. `--deploys 5 --variants c,c-swarm --scheduler swarm`. */
function commandFlags(flags: unknown): string {
  return Object.entries(flags as Record<string, unknown>)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `--${name} ${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(' ');
}
