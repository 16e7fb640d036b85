import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { limitPushBody } from './push-limit.js';

/** What git sends a push as; a browser's form or `fetch` without a preflight cannot send it. */
export const RECEIVE_PACK_REQUEST = 'application/x-git-receive-pack-request';

/**
 * The push itself (`POST /APP.git/git-receive-pack`): git receive-pack reads the ref updates and
 * the pack, runs the pre-receive hook, and answers. node-git-server started git only once it saw
 * a refs/heads or refs/tags line, so a push of any other ref (refs/for/main) was never answered;
 * here every push reaches git, and the hook refuses what does not deploy, saying why.
 */
/** The most a push's body may hold (inflated), and what the pusher reads when it holds more. */
export interface PushLimit {
  maxBytes: number;
  refusal: () => Buffer;
}

export function receivePack(repoDir: string, req: IncomingMessage, res: ServerResponse, limit: PushLimit, refuse: (status: number, message: string) => void): void {
  if (req.headers['content-type'] !== RECEIVE_PACK_REQUEST) {
    return refuse(415, `berth: a push is a POST of ${RECEIVE_PACK_REQUEST}, as git sends it; push with git`);
  }
  const encoding = req.headers['content-encoding'] ?? 'identity';
  if (encoding !== 'identity' && encoding !== 'gzip') return refuse(415, `berth: the push body is encoded as ${encoding}; git sends it plain or gzip`);
  res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result', 'cache-control': 'no-cache, max-age=0, must-revalidate' });
  const git = spawn('git', ['receive-pack', '--stateless-rpc', repoDir], { stdio: ['pipe', 'pipe', 'ignore'] });
  // A broken pack, a push cut at the limit or a client that went away ends git's input early; git then answers or exits.
  const body = limitPushBody(req, limit.maxBytes, () => res.write(limit.refusal()));
  pipeline(body, git.stdin, () => undefined);
  git.stdout.pipe(res);
  git.on('error', () => res.destroy());
  // A pusher that goes away stops the push: without receive-pack its hook, and so the deploy, is cancelled.
  res.on('close', () => {
    if (!res.writableFinished && git.exitCode === null) git.kill('SIGTERM');
  });
}
