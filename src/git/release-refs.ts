import { spawn } from 'node:child_process';
import { gitEnv } from './quarantine.js';

/**
 * Every release that reached the switch keeps its commit under refs/berth/releases/N in the app's
 * repository. Without it, a push git rejects after the switch (berth killed, the pusher gone)
 * takes the live release's commit with it: git drops the quarantined objects of a rejected push.
 */
export const RELEASE_REFS_ROOT = 'refs/berth';
export const RELEASE_REFS = `${RELEASE_REFS_ROOT}/releases/`;

export function releaseRef(release: number): string {
  return `${RELEASE_REFS}${release}`;
}

/** Points refs/berth/releases/N at the commit; git checks that the commit is in the object store. */
export async function writeReleaseRef(repoDir: string, release: number, commit: string): Promise<void> {
  const { code, stderr } = await git(repoDir, ['update-ref', releaseRef(release), commit]);
  if (code !== 0) throw new Error(`git update-ref ${releaseRef(release)} ${commit.slice(0, 7)} failed: ${stderr.trim()}`);
}

/** The releases that have a ref, oldest first; none when the repository does not exist. */
export async function listReleaseRefs(repoDir: string): Promise<number[]> {
  const { code, stdout } = await git(repoDir, ['for-each-ref', '--format=%(refname)', RELEASE_REFS]);
  if (code !== 0) return [];
  return stdout
    .split('\n')
    .map((ref) => Number(ref.slice(RELEASE_REFS.length)))
    .filter((release) => Number.isInteger(release) && release > 0)
    .sort((a, b) => a - b);
}

export async function deleteReleaseRefs(repoDir: string, releases: number[]): Promise<void> {
  if (releases.length === 0) return;
  const commands = releases.map((release) => `delete ${releaseRef(release)}\n`).join('');
  const { code, stderr } = await git(repoDir, ['update-ref', '--stdin'], commands);
  if (code !== 0) throw new Error(`git could not delete the refs of releases ${releases.join(', ')}: ${stderr.trim()}`);
}

/** git with the repository as GIT_DIR and none of a hook's quarantine variables: refs may not be written inside quarantine. */
function git(repoDir: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env: gitEnv(repoDir), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    // git may exit without reading all of it; its exit code says what happened.
    child.stdin.on('error', () => undefined).end(input);
  });
}
