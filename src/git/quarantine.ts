import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * During pre-receive the pushed objects sit in git's quarantine folder; only these variables
 * make them visible to other git commands, so they travel with every call that reads the commit.
 */
export const QUARANTINE_ENV_KEYS = ['GIT_QUARANTINE_PATH', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES'] as const;

export type QuarantineEnv = Partial<Record<(typeof QUARANTINE_ENV_KEYS)[number], string>>;

/** git's environment for the repository, seeing the quarantined objects given and no others (berth's own environment may carry some). */
export function gitEnv(repoDir: string, quarantine: QuarantineEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_DIR: repoDir };
  for (const key of QUARANTINE_ENV_KEYS) {
    if (quarantine[key]) env[key] = quarantine[key];
    else delete env[key];
  }
  return env;
}

/**
 * Makes the objects in git's quarantine part of the repository's own object store, by hard links:
 * git's own migration after an accepted push links them in the same way (and skips files already
 * there), so nothing is stored twice. `.keep` files are receive-pack's own locks and stay behind.
 * A pack's .idx is linked after its .pack: git takes a pack as present once its index is.
 */
export async function adoptQuarantinedObjects(quarantineDir: string, objectsDir: string): Promise<void> {
  const entries = await fs.readdir(quarantineDir, { withFileTypes: true, recursive: true });
  const files = entries.filter((e) => e.isFile() && !e.name.endsWith('.keep') && !e.name.startsWith('tmp_'));
  const order = (name: string) => (name.endsWith('.idx') ? 1 : 0);
  for (const file of files.sort((a, b) => order(a.name) - order(b.name))) {
    const source = path.join(file.parentPath, file.name);
    const target = path.join(objectsDir, path.relative(quarantineDir, source));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await linkOrCopy(source, target);
  }
}

/** An object file the store already has (pushed before) is the same object: it stays as it is. */
async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await fs.link(source, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'EXDEV') throw error;
    await fs.copyFile(source, target, fs.constants.COPYFILE_EXCL).catch((copyError: NodeJS.ErrnoException) => {
      if (copyError.code !== 'EEXIST') throw copyError;
    });
  }
}
