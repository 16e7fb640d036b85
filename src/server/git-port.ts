import http from 'node:http';
import { describe } from '../errors.js';
import { requestHasToken } from './token.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

export interface GitPortDeps {
  token: string;
  handlers: { git: Handler; api: Handler };
  /** Whether a client address is a container's or a build step's (on one of the engine's networks). */
  fromContainer: (address: string) => Promise<boolean>;
  log: (line: string) => void;
}

/**
 * The git port: requests from containers and build steps are refused (they reach the host through
 * their network's gateway, and an app must not be able to push, or guess the token); every other
 * request needs the token; then `/api/...` goes to the admin API and anything else to git's smart HTTP.
 */
export function createGitPortServer(deps: GitPortDeps): http.Server {
  const server = http.createServer((req, res) => {
    const isApi = req.url?.startsWith('/api/') ?? false;
    const answer = async () => {
      const address = req.socket.remoteAddress ?? '';
      if (await deps.fromContainer(address)) return refuseContainer(res, isApi, address);
      if (!requestHasToken(req, deps.token)) return refuse(res, isApi);
      await (isApi ? deps.handlers.api : deps.handlers.git)(req, res);
    };
    answer().catch((error: unknown) => {
      deps.log(`git request ${req.url} failed: ${describe(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`berth: ${describe(error)}\n`);
    });
  });
  // Deploys run inside the push request; their length is bounded by the deploy timeout, not by idle timers.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  return server;
}

function sendError(res: http.ServerResponse, status: number, isApi: boolean, error: string, hint: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': isApi ? 'application/json' : 'text/plain; charset=utf-8' });
  res.end(isApi ? JSON.stringify({ error, hint }) + '\n' : `berth: ${error}. ${hint}\n`);
}

/** git shows a text body to the pusher; the CLI reads a JSON error with a hint. */
function refuse(res: http.ServerResponse, isApi: boolean): void {
  const hint = isApi ? 'set BERTH_TOKEN (berth prints it at start; it is in DATA_DIR/token)' : 'Use http://berth:TOKEN@HOST:PORT/APP.git as the remote URL.';
  sendError(res, 401, isApi, 'a valid token is needed', hint, { 'www-authenticate': 'Basic realm="berth"' });
}

/** Closed, so a container cannot keep a connection to try tokens on. */
function refuseContainer(res: http.ServerResponse, isApi: boolean, address: string): void {
  res.shouldKeepAlive = false;
  sendError(res, 403, isApi, `requests from containers and build steps are refused (${address} is on a Docker network)`, 'push and run berth from the host or from outside');
}
