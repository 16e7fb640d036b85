import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Git, type FetchData, type PushData, type TagData } from 'node-git-server';
import { APP_NAME_RULE, isValidAppName } from '../model/app.js';
import type { Store } from '../store/store.js';
import { createRepo, repoExists, type HookTarget } from '../git/repos.js';
import { limitPushBody, pushRefusal } from './push-limit.js';

const GIT_ROUTE = /^\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack|HEAD)$/;

export interface GitHttpDeps {
  store: Store;
  createAppsOnPush: boolean;
  hook: HookTarget;
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
  git.on('push', serveSafely);
  git.on('tag', serveSafely);
  git.on('fetch', serveSafely);
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
      await deps.store.createApp(app);
      await createRepo(repoDir, app, deps.hook);
      deps.logger(`created app ${app}`);
    }
    req.url = `/${app}.git/${route}${url.search}`;
    if (route !== 'git-receive-pack' || req.method !== 'POST') return git.handle(req, res);
    const body = limitPushBody(req, deps.maxPushBytes, () => res.write(pushRefusal(app, deps.maxPushBytes)));
    git.handle(withBody(req, body), res);
  };
}

/**
 * The request as node-git-server reads it (its line, its headers, `pipe`), with `body` in place
 * of what came: limitPushBody has inflated it, so it no longer says it is encoded.
 */
function withBody(req: IncomingMessage, body: Readable): IncomingMessage {
  const headers = { ...req.headers };
  delete headers['content-encoding'];
  delete headers['content-length'];
  const fields = { method: req.method, url: req.url, headers, httpVersion: req.httpVersion, httpVersionMajor: req.httpVersionMajor, httpVersionMinor: req.httpVersionMinor, socket: req.socket, connection: req.socket };
  Object.defineProperty(body, 'complete', { get: () => body.readableEnded });
  return Object.assign(body, fields) as unknown as IncomingMessage;
}

/**
 * node-git-server pipes the request into git's stdin without an error handler: when git exits
 * before reading it all (a pack it refuses, a push cut at the limit), the EPIPE would end berth.
 */
function serveSafely(request: PushData | TagData | FetchData): void {
  request.once('service', (child: ChildProcess) => child.stdin?.on('error', () => undefined));
  request.accept();
}
