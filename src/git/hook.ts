/**
 * git's pre-receive hook for every app repository. It runs inside `git-receive-pack`, hands the
 * push to the berth server over a unix socket and prints what berth says, so the pusher reads the
 * deploy live as `remote: ...`. Its exit code accepts or rejects the push.
 */
import http from 'node:http';
import path from 'node:path';
import { HOOK_PATH, type HookEvent, type HookRequest, type RefUpdate } from './hook-protocol.js';
import { QUARANTINE_ENV_KEYS, type QuarantineEnv } from './tree.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseUpdates(text: string): RefUpdate[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [oldCommit, newCommit, ref] = line.trim().split(/\s+/);
      return { oldCommit, newCommit, ref };
    });
}

function quarantineEnv(): QuarantineEnv {
  const env: QuarantineEnv = {};
  for (const key of QUARANTINE_ENV_KEYS) {
    const value = process.env[key];
    // git hands these over relative to the repository, where the hook runs.
    if (value) env[key] = value.split(':').map((p) => path.resolve(p)).join(':');
  }
  return env;
}

function send(socketPath: string, request: HookRequest): Promise<number> {
  return new Promise((resolve) => {
    const body = JSON.stringify(request);
    const req = http.request(
      { socketPath, path: HOOK_PATH, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let buffered = '';
        let exitCode: number | undefined;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const event = JSON.parse(buffered.slice(0, newline)) as HookEvent;
            buffered = buffered.slice(newline + 1);
            if ('line' in event) process.stdout.write(event.line + '\n');
            else exitCode = event.exit;
          }
        });
        res.on('end', () => {
          if (exitCode === undefined) process.stdout.write(' !     berth stopped answering before the deploy finished; the push is rejected. Push again.\n');
          resolve(exitCode ?? 1);
        });
        res.on('error', () => resolve(1));
      },
    );
    req.on('error', (error) => {
      process.stdout.write(` !     berth is not running or not reachable (${error.message}); the push is rejected.\n`);
      resolve(1);
    });
    req.end(body);
  });
}

async function main(): Promise<void> {
  const [socketPath, app] = process.argv.slice(2);
  const updates = parseUpdates(await readStdin());
  process.exitCode = await send(socketPath, { app, repoDir: process.cwd(), updates, quarantine: quarantineEnv() });
}

void main();
