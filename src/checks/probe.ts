import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { describe } from '../errors.js';

/** What one HTTP check asks: a CHECKS line, or an app.json check with its headers and, for scheme https, TLS to the container. */
export interface ProbeTarget {
  scheme: 'http' | 'https';
  host: string | undefined;
  path: string;
  expected: string | undefined;
  headers?: { name: string; value: string }[];
  /** Speak TLS to the container (app.json's scheme https); its certificate cannot name an address, so it is not verified. */
  tls?: boolean;
}

export const MAX_REDIRECTS = 5;
export const MAX_BODY_BYTES = 1024 * 1024;

export interface ProbeResult {
  ok: boolean;
  /** For the pusher: status and what was (not) found, or the error. */
  summary: string;
}

interface Target {
  scheme: string;
  host: string | undefined;
  path: string;
}

/** Reads at most MAX_BODY_BYTES and drops the rest, so a huge or endless answer cannot fill berth's memory. */
async function readCapped(body: Dispatcher.ResponseData['body']): Promise<{ text: string; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    chunks.push(buffer.subarray(0, MAX_BODY_BYTES - size));
    size += buffer.length;
    if (size >= MAX_BODY_BYTES) {
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), cut: true };
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), cut: false };
}

/** A Location may name the public host; the next hop still goes to the container, with that Host. */
function followLocation(current: Target, location: string): Target {
  const base = new URL(`${current.scheme}://${current.host ?? 'container'}${current.path}`);
  const next = new URL(location, base);
  const sameHost = next.host === base.host;
  return {
    scheme: next.protocol.replace(':', ''),
    host: sameHost ? current.host : next.host,
    path: next.pathname + next.search,
  };
}

// undici's own timers have a resolution of 1 s, so its timeout can fire before or after the attempt's.
const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function isUndiciTimeout(error: unknown): boolean {
  return UNDICI_TIMEOUTS.has((error as { code?: string }).code ?? '');
}

/**
 * Dokku's checks run `curl --fail --location`: redirects are followed, and a final answer below
 * 400 passes, a 3xx without Location (such as 304) included.
 */
function isPassingStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

/** One attempt of one check, sent to the container itself (its IP and port), never through nginx. */
export async function probe(check: ProbeTarget, address: { ip: string; port: number }, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const agent = new Agent({ connect: { timeout: timeoutMs, ...(check.tls ? { rejectUnauthorized: false } : {}) }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, pipelining: 0 });
  // A timer of our own: inside AbortSignal.any an AbortSignal.timeout can be collected before it fires (nodejs/node#57736).
  const attempt = new AbortController();
  const timer = setTimeout(() => attempt.abort(), timeoutMs);
  const attemptSignal = AbortSignal.any([signal, attempt.signal]);
  let target: Target = { scheme: check.scheme, host: check.host, path: check.path };
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'berth-checks', 'x-forwarded-proto': target.scheme };
      for (const header of check.headers ?? []) headers[header.name.toLowerCase()] = header.value;
      if (target.host) headers.host = target.host;
      const response = await request(`${check.tls ? 'https' : 'http'}://${address.ip}:${address.port}${target.path}`, { method: 'GET', headers, dispatcher: agent, signal: attemptSignal });
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
        await response.body.dump();
        target = followLocation(target, location);
        continue;
      }
      const body = await readCapped(response.body);
      if (!isPassingStatus(response.statusCode)) return { ok: false, summary: `answered ${response.statusCode}, expected 2xx or 3xx` };
      if (check.expected !== undefined && !body.text.includes(check.expected)) {
        const searched = body.cut ? `the first ${MAX_BODY_BYTES / 1024 / 1024} MiB of the body (the rest was not read)` : 'the body';
        return { ok: false, summary: `answered ${response.statusCode} but ${searched} does not contain ${JSON.stringify(check.expected)}` };
      }
      return { ok: true, summary: check.expected === undefined ? `${response.statusCode}` : `${response.statusCode}, found ${JSON.stringify(check.expected)}` };
    }
    return { ok: false, summary: `more than ${MAX_REDIRECTS} redirects` };
  } catch (error) {
    if ((attemptSignal.aborted || isUndiciTimeout(error)) && !signal.aborted) return { ok: false, summary: `no answer within ${timeoutMs / 1000} s` };
    return { ok: false, summary: `request failed: ${describe(error)}` };
  } finally {
    clearTimeout(timer);
    await agent.destroy().catch(() => undefined);
  }
}
