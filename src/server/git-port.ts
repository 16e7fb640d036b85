import http from 'node:http';
import { describe } from '../errors.js';
import { requestHasToken } from './token.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/**
 * The git port: every request needs the token; then `/api/...` goes to the admin API and anything
 * else to git's smart HTTP.
 */
export function createGitPortServer(token: string, handlers: { git: Handler; api: Handler }, log: (line: string) => void): http.Server {
  const server = http.createServer((req, res) => {
    const isApi = req.url?.startsWith('/api/') ?? false;
    if (!requestHasToken(req, token)) return refuse(res, isApi);
    (isApi ? handlers.api : handlers.git)(req, res).catch((error: unknown) => {
      log(`git request ${req.url} failed: ${describe(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`berth: ${describe(error)}\n`);
    });
  });
  // Deploys run inside the push request; their length is bounded by the deploy timeout, not by idle timers.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  return server;
}

/** git shows a text body to the pusher; the CLI reads a JSON error with a hint. */
function refuse(res: http.ServerResponse, isApi: boolean): void {
  res.writeHead(401, { 'www-authenticate': 'Basic realm="berth"', 'content-type': isApi ? 'application/json' : 'text/plain; charset=utf-8' });
  if (isApi) res.end(JSON.stringify({ error: 'a valid token is needed', hint: 'set BERTH_TOKEN (berth prints it at start; it is in DATA_DIR/token)' }) + '\n');
  else res.end('berth: a valid token is needed. Use http://berth:TOKEN@HOST:PORT/APP.git as the remote URL.\n');
}
