import type { LoadSpec, WrkResult } from './wrk.js';

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
  key: 'a' | 'b' | 'c';
  name: string;
  steady: WrkResult;
  during: WrkResult;
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
    const e = v.during.errors;
    rows.push(
      `| ${v.name} | ${v.during.requests} | **${failures(v.during)}** | ${e.connect} | ${e.read + e.write} | ${e.timeout} | ${e.non2xx} | ${v.steady.requestsPerSecond.toFixed(0)} | ${v.during.requestsPerSecond.toFixed(0)} | ${latency(v.steady)} | ${latency(v.during)} |`,
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

/** The targets of issue 3, checked here and not in timed tests. */
export function targetLines(variants: VariantResult[]): string[] {
  const berth = variants.find((v) => v.key === 'c');
  const dokku = variants.find((v) => v.key === 'b');
  if (!berth) return [];
  const lines = [`- berth failed requests during ${berth.deploys} deploys: ${failures(berth.during)} (target 0): ${failures(berth.during) === 0 ? 'met' : 'MISSED'}`];
  if (berth.deploysOutsideLoad) lines.push(`- ${berth.deploysOutsideLoad} berth deploy(s) finished after the load window closed`);
  if (dokku) {
    const ratio = berth.steady.requestsPerSecond / dokku.steady.requestsPerSecond;
    lines.push(`- berth steady-state throughput ${ratio.toFixed(2)}x variant (b) (target at least 0.8x): ${ratio >= 0.8 ? 'met' : 'MISSED'}`);
  }
  if (berth.berthDeploys.length) {
    const overhead = median(berth.berthDeploys.map((d) => d.overheadMs)) / 1000;
    lines.push(`- median push-to-live overhead over the floor ${overhead.toFixed(2)} s (target at most 1 s): ${overhead <= 1 ? 'met' : 'MISSED'}`);
  }
  return lines;
}

export function renderReport(result: BenchResult): string {
  const out = [`# berth bench, ${result.date.slice(0, 16).replace('T', ' ')} UTC`, '', `${result.host.cpus} cores, ${result.host.nginx}; command: \`npm run bench -- ${JSON.stringify(result.flags)}\``, ''];
  for (const { load, variants } of result.runs) {
    out.push(`## ${LOAD_NAMES[load.kind]}: wrk -t${load.threads} -c${load.connections}`, '', ...variantRows(variants), '');
    const berth = variants.find((v) => v.key === 'c');
    if (berth?.berthDeploys.length) out.push(`berth deploys (seconds; floor = build + start + first passing check):`, '', ...berthRows(berth.berthDeploys), '');
    if (berth?.memoryMiB) out.push(`berth's own processes, peak resident memory during deploys: server ${berth.memoryMiB.server.toFixed(0)} MiB, nginx (the edge, all workers) ${berth.memoryMiB.nginx.toFixed(0)} MiB`, '');
    out.push(`Each variant: ${variants[0].deploys} deploys, one every ${variants[0].cadenceSeconds} s, under load from 1 s before the first to 1 s after the last slot.`, '');
    out.push(...targetLines(variants), '');
  }
  return out.join('\n');
}
