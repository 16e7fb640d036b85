import fs from 'node:fs/promises';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Child pids of a process: from /proc/PID/task/PID/children where the kernel has it, else by a scan of /proc. */
export async function childPids(parent: number): Promise<number[]> {
  try {
    const list = await fs.readFile(`/proc/${parent}/task/${parent}/children`, 'utf8');
    return list.split(' ').filter(Boolean).map(Number);
  } catch {
    return scanForChildren(parent);
  }
}

async function scanForChildren(parent: number): Promise<number[]> {
  const children: number[] = [];
  for (const pid of await allPids()) {
    if ((await parentPid(pid)) === parent) children.push(pid);
  }
  return children;
}

export async function commandLine(pid: number): Promise<string> {
  try {
    return (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Every process on the host, by pid. */
export async function allPids(): Promise<number[]> {
  return (await fs.readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
}

/** The parent and the state letter (R, S, Z...) from /proc/PID/stat; undefined once the process is gone. */
async function procStat(pid: number): Promise<{ parent: number; state: string } | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; fields after the last ')' are fixed.
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { parent: Number(parent), state };
  } catch {
    return undefined;
  }
}

export async function parentPid(pid: number): Promise<number | undefined> {
  return (await procStat(pid))?.parent;
}

/** Exited, or a zombie its new parent (init) has not reaped yet: either way it serves nothing. */
export async function hasExited(pid: number): Promise<boolean> {
  const stat = await procStat(pid);
  return stat === undefined || stat.state === 'Z';
}

/** What each open file descriptor of the process points at (a path, `socket:[INODE]`...); empty when berth may not look. */
export async function openFiles(pid: number): Promise<{ fd: number; target: string }[]> {
  const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const files: { fd: number; target: string }[] = [];
  for (const fd of fds) {
    const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
    if (target !== undefined) files.push({ fd: Number(fd), target });
  }
  return files;
}
