import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

const HOOK_PROGRAM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'hook.js');

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** git runs hooks with /bin/sh; an extensionless ESM file would silently do nothing, so this execs node on hook.js. */
function hookScript(socketPath: string, app: string): string {
  return ['#!/bin/sh', `exec ${shellQuote(process.execPath)} ${shellQuote(HOOK_PROGRAM)} ${shellQuote(socketPath)} ${shellQuote(app)}`, ''].join('\n');
}

export async function repoExists(repoDir: string): Promise<boolean> {
  try {
    await fs.access(path.join(repoDir, 'HEAD'));
    return true;
  } catch {
    return false;
  }
}

export async function createRepo(repoDir: string, app: string, socketPath: string): Promise<void> {
  await fs.mkdir(path.dirname(repoDir), { recursive: true });
  if (!(await repoExists(repoDir))) await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', repoDir]);
  await installHook(repoDir, app, socketPath);
}

/** Rewritten at every start, so a moved install or data dir never leaves a hook pointing nowhere. */
export async function installHook(repoDir: string, app: string, socketPath: string): Promise<void> {
  const hook = path.join(repoDir, 'hooks', 'pre-receive');
  await fs.mkdir(path.dirname(hook), { recursive: true });
  await fs.writeFile(hook, hookScript(socketPath, app), { mode: 0o755 });
  await fs.chmod(hook, 0o755);
}
