import fs from 'node:fs/promises';
import path from 'node:path';
import { BerthError } from '../errors.js';
import { commandLine, isAlive } from '../host/processes.js';
import { writeFileAtomic } from './atomic.js';

/**
 * One berth per data dir: two would fight over its nginx, its containers and its records. The
 * pid file of a berth that died (SIGKILL, a crash, a reboot) is stale and simply taken over.
 */
export async function claimDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  const file = path.join(dataDir, 'run', 'berth.pid');
  const owner = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
  if (owner && owner !== process.pid && isAlive(owner) && (await commandLine(owner)).includes('serve')) {
    throw new BerthError(`another berth (pid ${owner}) already serves ${dataDir}`, `stop it first, or give this berth its own --data-dir`);
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${process.pid}\n`);
  return {
    release: async () => {
      const current = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (current === process.pid) await fs.rm(file, { force: true });
    },
  };
}
