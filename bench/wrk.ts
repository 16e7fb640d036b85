import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** GET on keep-alive connections, POST with a 2 KiB body on keep-alive connections, or GET with a new connection each. */
export type LoadKind = 'get' | 'post' | 'close';

export interface LoadSpec {
  kind: LoadKind;
  connections: number;
  threads: number;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  errors: { connect: number; read: number; write: number; timeout: number; non2xx: number };
  latencyMs: { p50: number; p99: number; max: number };
}

const POST_SCRIPT = `wrk.method = "POST"\nwrk.body = string.rep("x", 2048)\nwrk.headers["Content-Type"] = "text/plain"\n`;

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (!match) return NaN;
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(match[1]) * factor;
}

export function parseWrk(output: string): WrkResult {
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const requestsLine = /(\d+) requests in ([\d.]+)(\w+)/.exec(output);
  return {
    requests: Number(requestsLine?.[1] ?? 0),
    seconds: requestsLine ? toMs(`${requestsLine[2]}${requestsLine[3]}`) / 1000 : 0,
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    errors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
      non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
    },
    latencyMs: {
      p50: toMs(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? ''),
      p99: toMs(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? ''),
      max: toMs(/^\s+Latency\s+\S+\s+\S+\s+(\S+)/m.exec(output)?.[1] ?? ''),
    },
  };
}

/** wrk: HTTP/1.1, keep-alive unless told otherwise, and it never retries a failed request. */
export async function runWrk(url: string, host: string, load: LoadSpec, seconds: number): Promise<WrkResult> {
  const args = ['-t', String(load.threads), '-c', String(load.connections), '-d', `${seconds}s`, '--latency', '--timeout', '10s', '-H', `Host: ${host}`];
  let script: string | undefined;
  if (load.kind === 'post') {
    script = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-')), 'post.lua');
    await fs.writeFile(script, POST_SCRIPT);
    args.push('-s', script);
  }
  if (load.kind === 'close') args.push('-H', 'Connection: close');
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
  });
  if (script) await fs.rm(path.dirname(script), { recursive: true, force: true });
  return parseWrk(output);
}
