import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { EXIT_LINE_PREFIX, HOOK_PATH_PREFIX, quarantineHeader } from './hook-protocol.js';
import { QUARANTINE_ENV_KEYS } from './tree.js';

const run = promisify(execFile);

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * git runs pre-receive with /bin/sh. It hands the push to berth through curl and prints berth's
 * lines as they come, so the pusher reads the deploy live; a shell script and curl start in a few
 * milliseconds where a node process takes hundreds under load. The last line carries the exit code;
 * every other line berth sends starts with a prefix, so no output can fake it.
 */
function hookScript(curl: string, socketPath: string, app: string): string {
  const headers = QUARANTINE_ENV_KEYS.map((key) => `-H "${quarantineHeader(key)}: $${key}"`).join(' ');
  return `#!/bin/sh
# berth's pre-receive hook: written by berth at start, edits are overwritten.
${shellQuote(curl)} -sS -N --unix-socket ${shellQuote(socketPath)} -X POST --data-binary @- \\
  -H 'content-type: text/plain' ${headers} \\
  ${shellQuote(`http://berth${HOOK_PATH_PREFIX}${app}`)} 2>&1 |
{
  while IFS= read -r line; do
    case "$line" in
      '${EXIT_LINE_PREFIX}'*) exit "\${line#${EXIT_LINE_PREFIX}}" ;;
      *) printf '%s\\n' "$line" ;;
    esac
  done
  echo ' !     berth did not finish this deploy (is berth running?); the push is rejected. Push again.'
  exit 1
}
`;
}

export async function repoExists(repoDir: string): Promise<boolean> {
  try {
    await fs.access(path.join(repoDir, 'HEAD'));
    return true;
  } catch {
    return false;
  }
}

export interface HookTarget {
  curl: string;
  socketPath: string;
}

export async function createRepo(repoDir: string, app: string, hook: HookTarget): Promise<void> {
  await fs.mkdir(path.dirname(repoDir), { recursive: true });
  if (!(await repoExists(repoDir))) await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', repoDir]);
  await installHook(repoDir, app, hook);
}

/** Rewritten at every start, so a moved install or data dir never leaves a hook pointing nowhere. */
export async function installHook(repoDir: string, app: string, hook: HookTarget): Promise<void> {
  const file = path.join(repoDir, 'hooks', 'pre-receive');
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, hookScript(hook.curl, hook.socketPath, app), { mode: 0o755 });
  await fs.chmod(file, 0o755);
}
