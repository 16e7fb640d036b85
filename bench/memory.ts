import fs from 'node:fs/promises';
import path from 'node:path';
import { childPids } from '../src/host/processes.js';

async function rssKiB(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function nginxPids(prefix: string): Promise<number[]> {
  const master = Number((await fs.readFile(path.join(prefix, 'run', 'nginx.pid'), 'utf8').catch(() => '')).trim());
  if (!master) return [];
  return [master, ...(await childPids(master))];
}

/** Resident memory of berth's own processes: the server, and its edge nginx with all its workers. */
export async function berthMemoryMiB(serverPid: number, dataDir: string): Promise<{ server: number; nginx: number }> {
  const pids = await nginxPids(path.join(dataDir, 'nginx', 'edge'));
  let nginx = 0;
  for (const pid of pids) nginx += await rssKiB(pid);
  return { server: (await rssKiB(serverPid)) / 1024, nginx: nginx / 1024 };
}
