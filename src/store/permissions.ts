import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * berth's umask: every file it (or git, or nginx's master) creates under the data dir is the
 * owner's alone, 0600 or 0700. The data dir holds every app's secrets (apps/APP/app.json), the
 * deploy logs and the repositories; no other local user, nginx's workers included, reads them.
 */
export const PRIVATE_UMASK = 0o077;

/** A folder nginx's unprivileged workers pass through (to their temp files) without listing it. */
export const PASSAGE_MODE = 0o711;

/**
 * Takes every permission of group and others away under `dataDir`, as a data dir made by an
 * older berth (with the default umask) needs; the owner keeps its own, so a plugin or a hook stays
 * executable. `passages` become exactly 0711 and never lose their x bit on the way, so nginx's
 * workers serving meanwhile keep reaching their temp files. Symbolic links and sockets (nginx
 * makes its admin socket 0666; the folder it is in keeps others out) are left alone. So is what
 * the apps keep below `appData` (their storage): those files are the apps' own, with the modes
 * and owners their containers' users need, and there may be very many of them. Resolves with how many were changed.
 */
export async function tightenDataDir(dataDir: string, passages: string[], appData?: string): Promise<number> {
  const resolved = new Set([dataDir, ...passages].map((dir) => path.resolve(dir)));
  return tighten(path.resolve(dataDir), resolved, appData === undefined ? undefined : path.resolve(appData));
}

async function tighten(entry: string, passages: Set<string>, appData: string | undefined): Promise<number> {
  const stat = await fs.lstat(entry).catch(() => undefined);
  if (!stat || stat.isSymbolicLink() || stat.isSocket()) return 0;
  const mode = stat.mode & 0o7777;
  const wanted = passages.has(entry) ? PASSAGE_MODE : mode & ~0o077;
  let changed = 0;
  if (mode !== wanted) {
    await fs.chmod(entry, wanted);
    changed += 1;
  }
  if (!stat.isDirectory() || entry === appData) return changed;
  for (const name of await fs.readdir(entry).catch(() => [] as string[])) changed += await tighten(path.join(entry, name), passages, appData);
  return changed;
}
