import { spawn } from 'node:child_process';
import { BerthError } from '../errors.js';
import { allPids, commandLine, openFiles, parentPid } from '../host/processes.js';
import { listeningSockets } from '../host/sockets.js';
import { sleep } from '../time.js';

/**
 * The workers (and cache processes) of one of berth's nginx instances whose master died on its
 * own: SIGKILL or the OOM killer take the master only, and its workers go on serving the config
 * they have, holding the listening sockets, so a new master cannot bind them.
 */
export interface OrphanedWorkers {
  pids: number[];
  /** An orphan that still holds the listening sockets (one shutting down has closed them), with its descriptors of them. */
  holder: { pid: number; fds: number[]; addresses: string[] } | undefined;
}

const NGINX_CHILD = /^nginx: (worker|cache)/;
const NGINX_MASTER = /^nginx: master process/;
const EXIT_POLL_MS = 25;

/**
 * nginx processes of the instance that logs to `errorLog` whose parent is no nginx master. Every
 * process of an instance holds its error log open, and no other process does.
 */
export async function findOrphanedWorkers(errorLog: string): Promise<OrphanedWorkers> {
  const pids: number[] = [];
  for (const pid of await allPids()) {
    if (!NGINX_CHILD.test(await commandLine(pid))) continue;
    const parent = await parentPid(pid);
    if (parent !== undefined && NGINX_MASTER.test(await commandLine(parent))) continue;
    if ((await openFiles(pid)).some((file) => file.target === errorLog)) pids.push(pid);
  }
  return { pids, holder: await listenerHolder(pids) };
}

async function listenerHolder(pids: number[]): Promise<OrphanedWorkers['holder']> {
  const listening = await listeningSockets();
  let holder: OrphanedWorkers['holder'];
  for (const pid of pids) {
    const held = (await openFiles(pid)).map(({ fd, target }) => ({ fd, address: listening.get(Number(/^socket:\[(\d+)\]$/.exec(target)?.[1])) }));
    const sockets = held.filter((h): h is { fd: number; address: string } => h.address !== undefined);
    if (sockets.length > (holder?.fds.length ?? 0)) holder = { pid, fds: sockets.map((s) => s.fd), addresses: sockets.map((s) => s.address) };
  }
  return holder;
}

/** SIGQUIT: each stops accepting, finishes the requests it has (bounded by worker_shutdown_timeout) and exits. */
export function retireOrphans(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  }
}

/** Whether none of the orphans holds a listening socket any more, within timeoutMs. */
export async function letGoOfSockets(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await listenerHolder(pids)) === undefined) return true;
    if (Date.now() >= deadline) return false;
    await sleep(EXIT_POLL_MS);
  }
}

/**
 * Copies the listening sockets out of the orphan that holds them (pidfd_getfd, Linux 5.6; root
 * may) and execs nginx with them in its NGINX variable, the way nginx hands its sockets to a new
 * binary: the new master serves on the very sockets, so no connection is refused or dropped
 * while it takes over. perl is on every Debian system (perl-base is essential); Node cannot
 * make these calls. The syscall numbers are the same on every architecture Linux has.
 */
const INHERIT_SOCKETS = String.raw`
use strict; use warnings; use Fcntl qw(F_SETFD);
my ($holder, $fds, $log, @nginx) = @ARGV;
my $pidfd = syscall(434, $holder + 0, 0);
die "pidfd_open($holder): $!\n" if $pidfd < 0;
my (@handles, @copies);
for my $fd (split /,/, $fds) {
  my $copy = syscall(438, $pidfd + 0, $fd + 0, 0);
  die "pidfd_getfd($holder, $fd): $!\n" if $copy < 0;
  open(my $handle, '<&=', $copy) or die "fdopen($copy): $!\n";
  fcntl($handle, F_SETFD, 0) or die "fcntl($copy): $!\n";
  push @handles, $handle;
  push @copies, $copy;
}
$ENV{NGINX} = join('', map { "$_;" } @copies);
open(STDERR, '>>', $log) or die "$log: $!\n";
exec { $nginx[0] } @nginx or die "exec $nginx[0]: $!\n";
`;

/**
 * Starts a master on the holder's listening sockets. With inherited sockets nginx stays in the
 * foreground, so it runs in a session of its own, as a daemon would; resolves with its pid once
 * `isMaster` says it runs, rejects when it exits first.
 */
export async function startInheriting(holder: NonNullable<OrphanedWorkers['holder']>, nginx: string[], errorLog: string, isMaster: (pid: number) => Promise<boolean>): Promise<number> {
  const child = spawn('perl', ['-e', INHERIT_SOCKETS, String(holder.pid), holder.fds.join(','), errorLog, ...nginx], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited: string | undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('error', (error) => (exited = error.message));
  child.on('exit', (code, signal) => (exited = stderr.trim() || `exited with ${signal ?? code}`));
  const deadline = Date.now() + 5000;
  while (exited === undefined && Date.now() < deadline) {
    if (child.pid !== undefined && (await isMaster(child.pid))) {
      child.unref();
      child.stderr.destroy();
      return child.pid;
    }
    await sleep(EXIT_POLL_MS);
  }
  if (exited === undefined) child.kill('SIGKILL');
  throw new BerthError(`nginx could not take over the sockets of pid ${holder.pid}: ${exited ?? 'it did not start within 5 s'}`);
}
