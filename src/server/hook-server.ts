import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { BerthError, describe } from '../errors.js';
import { EXIT_LINE_PREFIX, HOOK_PATH_PREFIX, parseRefUpdates, quarantineFromHeaders } from '../git/hook-protocol.js';
import { configureRepo, findHookTools, repoExists, type HookTarget } from '../git/repos.js';
import { DeployOutput, drained } from '../log/output.js';
import { isValidAppName } from '../model/app.js';
import type { Store } from '../store/store.js';
import { listen } from './listen.js';
import { handlePush, type PushDeps } from './push.js';

// sockaddr_un holds 108 bytes including the terminator.
const MAX_SOCKET_PATH = 107;

/**
 * Listens on DATA_DIR/run/hooks.sock (0600) for the repositories' pre-receive hooks, and rewrites
 * every hook to reach it. Resolves with the server and what new repositories' hooks need.
 */
export async function startHookServer(dataDir: string, deps: PushDeps): Promise<{ server: http.Server; hook: HookTarget }> {
  const runDir = path.join(dataDir, 'run');
  await fs.mkdir(runDir, { recursive: true, mode: 0o700 });
  const socketPath = path.join(runDir, 'hooks.sock');
  if (socketPath.length > MAX_SOCKET_PATH) throw new BerthError(`the data dir path is too long for a unix socket (${socketPath})`, 'use a shorter --data-dir');
  const hook = findHookTools(socketPath);
  await fs.rm(socketPath, { force: true });
  const server = createHookServer(deps);
  await listen(server, { path: socketPath });
  await fs.chmod(socketPath, 0o600);
  await refreshHooks(deps.store, hook);
  return { server, hook };
}

/** The pre-receive hooks talk to berth over this socket; it is not reachable from the network. */
function createHookServer(deps: PushDeps): http.Server {
  return http.createServer((req, res) => {
    const app = req.url?.startsWith(HOOK_PATH_PREFIX) ? req.url.slice(HOOK_PATH_PREFIX.length) : '';
    if (req.method !== 'POST' || !isValidAppName(app)) {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      const cancelled = new AbortController();
      res.on('close', () => {
        if (!res.writableEnded) cancelled.abort(new BerthError('the push was interrupted: the git client went away'));
      });
      const output = new DeployOutput({ write: (line) => res.write(line + '\n'), drained: () => drained(res) });
      const request = { app, updates: parseRefUpdates(body), quarantine: quarantineFromHeaders(req.headers, deps.store.repoDir(app)) };
      handlePush(deps, request, output, cancelled.signal)
        .catch((error: unknown) => {
          output.error(`berth failed: ${describe(error)}`);
          return 1;
        })
        .then((exit) => res.end(`${EXIT_LINE_PREFIX}${exit}\n`));
    });
  });
}

/** Rewritten at every start, so a moved install or data dir never leaves a hook pointing nowhere. */
async function refreshHooks(store: Store, hook: HookTarget): Promise<void> {
  for (const app of await store.listApps()) {
    const repoDir = store.repoDir(app);
    if (await repoExists(repoDir)) await configureRepo(repoDir, app, hook);
  }
}
