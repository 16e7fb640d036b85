import http from 'node:http';
import https from 'node:https';

export interface LoadOptions {
  port: number;
  host: string;
  connections: number;
  method: 'GET' | 'POST';
  /** Keep-alive connections (Node's client never retries a request), or a new connection per request. */
  keepAlive: boolean;
  bodyBytes?: number;
  /** HTTPS, verifying the edge's certificate for `host` (sent as SNI) against this CA. */
  tls?: { ca: string };
  /** The load stops by itself after this long, should a failing test never call stop(). */
  maxMs?: number;
}

const DEFAULT_MAX_LOAD_MS = 5 * 60 * 1000;

export interface Sample {
  startedAt: number;
  release: string | undefined;
}

export interface LoadResult {
  ok: number;
  failures: { kind: string; at: number }[];
  samples: Sample[];
}

function once(agent: http.Agent | false, options: LoadOptions, body: Buffer | undefined): Promise<{ release: string | undefined }> {
  return new Promise((resolve, reject) => {
    const client = options.tls ? https : http;
    const req = client.request(
      {
        host: '127.0.0.1',
        port: options.port,
        method: options.method,
        path: '/',
        agent,
        ...(options.tls ? { servername: options.host, ca: options.tls.ca } : {}),
        headers: { host: options.host, ...(options.keepAlive ? {} : { connection: 'close' }), ...(body ? { 'content-length': body.length } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) reject(new Error(`HTTP ${res.statusCode}`));
          else resolve({ release: /^(?:Hello from )?(\S+)/.exec(Buffer.concat(chunks).toString())?.[1] });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A steady load through berth's nginx, from the test process: `connections` loops, each sending
 * its next request as soon as the last one answered. Every failure is recorded, none retried.
 */
export function startLoad(options: LoadOptions): { stop(): Promise<LoadResult> } {
  const Agent = options.tls ? https.Agent : http.Agent;
  const agent = options.keepAlive ? new Agent({ keepAlive: true, maxSockets: options.connections }) : false;
  const body = options.method === 'POST' ? Buffer.alloc(options.bodyBytes ?? 2048, 'x') : undefined;
  const result: LoadResult = { ok: 0, failures: [], samples: [] };
  let running = true;
  const limit = setTimeout(() => (running = false), options.maxMs ?? DEFAULT_MAX_LOAD_MS);
  limit.unref();
  const loop = async () => {
    while (running) {
      const startedAt = Date.now();
      try {
        const { release } = await once(agent, options, body);
        result.ok++;
        result.samples.push({ startedAt, release });
      } catch (error) {
        const kind = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        result.failures.push({ kind, at: Date.now() });
        // A dead endpoint fails at once; pausing keeps a failing loop from starving the test.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const loops = Array.from({ length: options.connections }, loop);
  return {
    stop: async () => {
      running = false;
      clearTimeout(limit);
      await Promise.all(loops);
      if (agent) agent.destroy();
      return result;
    },
  };
}
