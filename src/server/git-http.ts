import type { IncomingMessage, ServerResponse } from 'node:http';
import { Git } from 'node-git-server';
import { APP_NAME_RULE, isValidAppName } from '../model/app.js';
import type { Store } from '../store/store.js';
import { ConflictError } from '../errors.js';
import { receivePack } from '../git/receive-pack.js';
import { repoExists } from '../git/repos.js';
import { pushRefusal } from '../git/push-limit.js';

const GIT_ROUTE = /^\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack|HEAD)$/;

export interface GitHttpDeps {
  store: Store;
  createAppsOnPush: boolean;
  /** Makes the app and its repository, under the app's lock; a ConflictError says why it cannot be made. */
  createApp: (app: string) => Promise<unknown>;
  logger: (line: string) => void;
  /** --max-push-size: the most a push's request body may hold, inflated. */
  maxPushBytes: number;
}

function reply(res: ServerResponse, status: number, message: string): void {
  // git prints a text/plain error body to the pusher as `remote: ...`.
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(message.endsWith('\n') ? message : message + '\n');
}

function isPush(url: URL, route: string): boolean {
  return route === 'git-receive-pack' || (route === 'info/refs' && url.searchParams.get('service') === 'git-receive-pack');
}

/**
 * Smart HTTP for app repositories. `/myapp` and `/myapp.git` are the same repo; the first push to
 * an unknown app creates it unless that is turned off. Authentication happens before this.
 */
export function createGitHandler(deps: GitHttpDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const git = new Git(deps.store.reposDir, { autoCreate: false });
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://berth');
    // The path as sent, not as URL normalizes it: /../../etc.git must not become the app "etc".
    const match = GIT_ROUTE.exec((req.url ?? '/').split('?')[0]);
    if (!match) return reply(res, 404, `berth: no such git endpoint ${url.pathname}; push to http://HOST:PORT/APP.git`);
    const [, app, route] = match;
    if (!isValidAppName(app)) return reply(res, 400, `berth: "${app}" is not a valid app name (${APP_NAME_RULE})`);
    const repoDir = deps.store.repoDir(app);
    if (!(await repoExists(repoDir))) {
      if (!isPush(url, route)) return reply(res, 404, `berth: no app named ${app}; push to it to create it`);
      if (!deps.createAppsOnPush) return reply(res, 404, `berth: no app named ${app}, and this server does not create apps on push; ask an operator to create it`);
      try {
        await deps.createApp(app);
      } catch (error) {
        if (error instanceof ConflictError) return reply(res, 409, `berth: ${error.message}${error.hint ? `; ${error.hint}` : ''}`);
        throw error;
      }
      deps.logger(`created app ${app}`);
    }
    if (route === 'git-receive-pack' && req.method === 'POST') {
      const limit = { maxBytes: deps.maxPushBytes, refusal: () => pushRefusal(app, deps.maxPushBytes) };
      return receivePack(repoDir, req, res, limit, (status, message) => reply(res, status, message));
    }
    req.url = `/${app}.git/${route}${url.search}`;
    git.handle(req, res);
  };
}
