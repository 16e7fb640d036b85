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
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses; fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
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
