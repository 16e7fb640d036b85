import http from 'node:http';
import { describe } from '../errors.js';
import { requestHasToken } from './token.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/**
 * Bounds on the git port, which anyone on the network can reach before a token is checked. None
 * of them cuts a deploy or `logs -f`, which stream answers for as long as they run: node's
 * request timeout ends when the request has arrived, and the idle limit only while a body does.
 */
export interface GitPortLimits {
  /** A client must have sent its request headers within this. */
  headersMs: number;
  /** A request body (a push's pack) may pause this long at most. */
  bodyIdleMs: number;
  /** A request, body included, must have arrived within this: the longest a push may take to upload. */
  requestMs: number;
  /** Connections open at once; one more is closed at once (and berth logs it). */
  connections: number;
}

export const GIT_PORT_LIMITS: GitPortLimits = { headersMs: 20_000, bodyIdleMs: 60_000, requestMs: 3_600_000, connections: 256 };

/**
 * The git port: every request needs the token; then `/api/...` goes to the admin API and anything
 * else to git's smart HTTP.
 */
export function createGitPortServer(token: string, handlers: { git: Handler; api: Handler }, log: (line: string) => void, limits = GIT_PORT_LIMITS): http.Server {
  // node checks the header and request timeouts every connectionsCheckingInterval (30 s by default).
  const server = http.createServer({ connectionsCheckingInterval: Math.min(1000, limits.headersMs) }, (req, res) => {
    limitBodyIdle(req, res, limits.bodyIdleMs);
    const isApi = req.url?.startsWith('/api/') ?? false;
    if (isForeignOrigin(req)) return refuseOrigin(res, isApi, req.headers.origin!);
    if (!requestHasToken(req, token)) return refuse(res, isApi);
    (isApi ? handlers.api : handlers.git)(req, res).catch((error: unknown) => {
      log(`git request ${req.url} failed: ${describe(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`berth: ${describe(error)}\n`);
    });
  });
  server.headersTimeout = limits.headersMs;
  server.requestTimeout = limits.requestMs;
  server.maxConnections = limits.connections;
  server.on('drop', (dropped?: { remoteAddress?: string }) => log(`refused a connection from ${dropped?.remoteAddress ?? 'a client'}: ${limits.connections} connections are open, the most the git port takes`));
  return server;
}

/** A request that sends a body must keep sending it; once it has arrived, nothing is idle-limited. */
function limitBodyIdle(req: http.IncomingMessage, res: http.ServerResponse, idleMs: number): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return;
  req.setTimeout(idleMs, () => {
    if (!res.headersSent) res.writeHead(408, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end(`berth: the request body stopped arriving for ${idleMs / 1000} s; send it again\n`);
    req.socket.destroy();
  });
  req.once('end', () => req.setTimeout(0));
}

/** git shows a text body to the pusher; the CLI reads a JSON error with a hint. */
function refuse(res: http.ServerResponse, isApi: boolean): void {
  // Closing after the answer: a body sent without the token is never read.
  res.writeHead(401, { 'www-authenticate': 'Basic realm="berth"', 'content-type': isApi ? 'application/json' : 'text/plain; charset=utf-8', connection: 'close' });
  if (isApi) res.end(JSON.stringify({ error: 'a valid token is needed', hint: 'set BERTH_TOKEN, or pass --token-file FILE (berth serve prints the token when it first makes it; it is in DATA_DIR/token)' }) + '\n');
  else res.end('berth: a valid token is needed. Use http://berth:TOKEN@HOST:PORT/APP.git as the remote URL.\n');
}

/**
 * git and the berth CLI send no Origin; a browser does, naming the page that made the request. A
 * page from anywhere but this server's own address is another site using the browser's
 * credentials for berth (a cross-site request), however the request is dressed.
 */
function isForeignOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

function refuseOrigin(res: http.ServerResponse, isApi: boolean, origin: string): void {
  const error = `requests from web pages of another origin (${origin}) are refused`;
  const hint = 'use the berth CLI or git, which send no Origin header';
  res.writeHead(403, { 'content-type': isApi ? 'application/json' : 'text/plain; charset=utf-8', connection: 'close' });
  res.end(isApi ? JSON.stringify({ error, hint }) + '\n' : `berth: ${error}; ${hint}\n`);
}
