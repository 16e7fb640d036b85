import { execFile } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { BerthError } from '../errors.js';
import { EXIT_LINE_PREFIX, HOOK_PATH_PREFIX, quarantineHeader } from './hook-protocol.js';
import { QUARANTINE_ENV_KEYS } from './quarantine.js';
import { RELEASE_REFS_ROOT } from './release-refs.js';

const run = promisify(execFile);

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The line filter of the hook: it prints berth's lines and exits with the code on the exit line.
 * A `while read` loop in sh reads its pipe one byte at a time (4.6 s of CPU for a 3 MB build log
 * on this kind of machine); awk reads it in blocks. mawk buffers its input until a block is full
 * unless told `-W interactive`, and the pusher must read each line as it comes.
 */
function filterProgram(awk: string[]): string {
  const program = `/^${EXIT_LINE_PREFIX}/ { code = substr($0, ${EXIT_LINE_PREFIX.length + 1}) + 0; finished = 1; exit }
{ print; fflush() }
END {
  if (!finished) { print " !     berth did not finish this deploy (is berth running?); the push is rejected. Push again."; code = 1 }
  exit code
}`;
  return [...awk.map(shellQuote), shellQuote(program)].join(' ');
}

/**
 * git runs pre-receive with /bin/sh. It hands the push to berth through curl and prints berth's
 * lines as they come, so the pusher reads the deploy live; a shell script, curl and awk start in a
 * few milliseconds where a node process takes hundreds under load. The last line carries the exit
 * code; every other line berth sends starts with a prefix, so no output can fake it.
 */
function hookScript(tools: HookTarget, app: string): string {
  const headers = QUARANTINE_ENV_KEYS.map((key) => `-H "${quarantineHeader(key)}: $${key}"`).join(' ');
  return `#!/bin/sh
# berth's pre-receive hook: written by berth at start, edits are overwritten.
${shellQuote(tools.curl)} -sS -N --unix-socket ${shellQuote(tools.socketPath)} -X POST --data-binary @- \\
  -H 'content-type: text/plain' ${headers} \\
  ${shellQuote(`http://berth${HOOK_PATH_PREFIX}${app}`)} 2>&1 |
${filterProgram(tools.awk)}
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

/** What the hooks run to reach berth: curl over berth's unix socket, and awk as the line filter. */
export interface HookTarget {
  curl: string;
  /** The awk command line: mawk with `-W interactive`, or another awk, which reads lines as they come. */
  awk: string[];
  socketPath: string;
}

/** The hook's tools as found on this machine's PATH; an error says what to install. */
export function findHookTools(socketPath: string): HookTarget {
  const curl = findOnPath('curl');
  if (!curl) throw new BerthError('curl is not installed; the git hooks use it to reach berth', 'apt-get install curl (npm start does it)');
  const mawk = findOnPath('mawk');
  const awk = mawk ? [mawk, '-W', 'interactive'] : [findOnPath('awk')];
  if (!awk[0]) throw new BerthError('awk is not installed; the git hooks use it to print berth\'s lines', 'apt-get install mawk (npm start does it)');
  return { curl, awk: awk as string[], socketPath };
}

function findOnPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, program);
    try {
      fsSync.accessSync(candidate, fsSync.constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export async function createRepo(repoDir: string, app: string, hook: HookTarget): Promise<void> {
  await fs.mkdir(path.dirname(repoDir), { recursive: true });
  if (!(await repoExists(repoDir))) await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', repoDir]);
  await configureRepo(repoDir, app, hook);
}

/** Done at every start, so a moved install or data dir never leaves a hook pointing nowhere. */
export async function configureRepo(repoDir: string, app: string, hook: HookTarget): Promise<void> {
  await installHook(repoDir, app, hook);
  await hideReleaseRefs(repoDir);
}

/**
 * The release refs are berth's: a client neither sees them nor can push to or delete them
 * (a `git push --mirror` would otherwise try to delete every one).
 */
async function hideReleaseRefs(repoDir: string): Promise<void> {
  const hidden = await run('git', ['config', '--file', path.join(repoDir, 'config'), '--get-all', 'transfer.hideRefs']).then(({ stdout }) => stdout.split('\n'), () => [] as string[]);
  if (!hidden.includes(RELEASE_REFS_ROOT)) await run('git', ['config', '--file', path.join(repoDir, 'config'), '--add', 'transfer.hideRefs', RELEASE_REFS_ROOT]);
}

async function installHook(repoDir: string, app: string, hook: HookTarget): Promise<void> {
  const file = path.join(repoDir, 'hooks', 'pre-receive');
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Run by git as berth's own user; nobody else needs to read or run it.
  await fs.writeFile(file, hookScript(hook, app), { mode: 0o700 });
  await fs.chmod(file, 0o700);
}
