import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { describe } from '../errors.js';
import { requestHasToken } from './token.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

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

export interface GitPortDeps {
  token: string;
  /** upgrade: a websocket (berth run -i), once it passed the same checks as any request. */
  handlers: { git: Handler; api: Handler; upgrade?: UpgradeHandler };
  /** Whether a client address is a container's or a build step's (on one of the engine's networks). */
  fromContainer: (address: string) => Promise<boolean>;
  log: (line: string) => void;
  limits?: GitPortLimits;
  /** Serves HTTPS with this certificate (and the chain after it); plain HTTP without one (--insecure-http). */
  tls?: { certPem: string; keyPem: string };
}

/**
 * The git port: requests from containers and build steps are refused (they reach the host through
 * their network's gateway, and an app must not be able to push, or guess the token), and so are
 * requests from web pages of another origin; every other request needs the token; then `/api/...`
 * goes to the admin API and anything else to git's smart HTTP.
 */
export function createGitPortServer(deps: GitPortDeps): http.Server {
  const limits = deps.limits ?? GIT_PORT_LIMITS;
  // node checks the header and request timeouts every connectionsCheckingInterval (30 s by default).
  const options = { connectionsCheckingInterval: Math.min(1000, limits.headersMs) };
  const handler = answerRequest(deps, limits);
  // The handshake comes before the headers: it gets the same bound.
  const server = deps.tls ? https.createServer({ ...options, cert: deps.tls.certPem, key: deps.tls.keyPem, handshakeTimeout: limits.headersMs }, handler) : http.createServer(options, handler);
  server.headersTimeout = limits.headersMs;
  server.requestTimeout = limits.requestMs;
  server.maxConnections = limits.connections;
  server.on('upgrade', answerUpgrade(deps));
  server.on('drop', (dropped?: { remoteAddress?: string }) => deps.log(`refused a connection from ${dropped?.remoteAddress ?? 'a client'}: ${limits.connections} connections are open, the most the git port takes`));
  return server;
}

function answerRequest(deps: GitPortDeps, limits: GitPortLimits): http.RequestListener {
  return (req, res) => {
    limitBodyIdle(req, res, limits.bodyIdleMs);
    const isApi = req.url?.startsWith('/api/') ?? false;
    const answer = async () => {
      const address = req.socket.remoteAddress ?? '';
      if (await deps.fromContainer(address)) return refuseContainer(res, isApi, address);
      if (isForeignOrigin(req)) return refuseOrigin(res, isApi, req.headers.origin!);
      if (!requestHasToken(req, deps.token)) return refuse(res, isApi, 'encrypted' in req.socket ? 'https' : 'http');
      await (isApi ? deps.handlers.api : deps.handlers.git)(req, res);
    };
    answer().catch((error: unknown) => {
      deps.log(`git request ${req.url} failed: ${describe(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`berth: ${describe(error)}\n`);
    });
  };
}

/** A websocket is refused as a request would be (from a container, another origin, no token), on its socket. */
function answerUpgrade(deps: GitPortDeps): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: string, error: string) => socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ error })}\n`);
    const answer = async () => {
      if (await deps.fromContainer(req.socket.remoteAddress ?? '')) return refuse('403 Forbidden', 'requests from containers and build steps are refused');
      if (isForeignOrigin(req)) return refuse('403 Forbidden', 'requests from web pages of another origin are refused');
      if (!requestHasToken(req, deps.token)) return refuse('401 Unauthorized', 'a valid token is needed');
      if (!deps.handlers.upgrade) return refuse('404 Not Found', 'no websocket endpoint here');
      deps.handlers.upgrade(req, socket, head);
    };
    answer().catch((error: unknown) => {
      deps.log(`websocket ${req.url} failed: ${describe(error)}`);
      socket.destroy();
    });
  };
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

function sendError(res: http.ServerResponse, status: number, isApi: boolean, error: string, hint: string, headers: Record<string, string> = {}): void {
  // Closing after the answer: a body sent with a refused request is never read.
  res.writeHead(status, { ...headers, 'content-type': isApi ? 'application/json' : 'text/plain; charset=utf-8', connection: 'close' });
  res.end(isApi ? JSON.stringify({ error, hint }) + '\n' : `berth: ${error}. ${hint}\n`);
}

/** git shows a text body to the pusher; the CLI reads a JSON error with a hint. */
function refuse(res: http.ServerResponse, isApi: boolean, scheme: 'https' | 'http'): void {
  const hint = isApi ? 'set BERTH_TOKEN, or pass --token-file FILE (berth serve prints the token when it first makes it; it is in DATA_DIR/token)' : `Use ${scheme}://berth:TOKEN@HOST:PORT/APP.git as the remote URL.`;
  sendError(res, 401, isApi, 'a valid token is needed', hint, { 'www-authenticate': 'Basic realm="berth"' });
}

/** Closed, so a container cannot keep a connection to try tokens on. */
function refuseContainer(res: http.ServerResponse, isApi: boolean, address: string): void {
  sendError(res, 403, isApi, `requests from containers and build steps are refused (${address} is on a Docker network)`, 'push and run berth from the host or from outside');
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
  sendError(res, 403, isApi, `requests from web pages of another origin (${origin}) are refused`, 'use the berth CLI or git, which send no Origin header');
}
