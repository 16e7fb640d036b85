import { spawn } from 'node:child_process';
import fs from 'node:fs';
import Docker from 'dockerode';

const PID_FILE = '/var/run/docker.pid';
const LOG_FILE = '/var/log/berth-dockerd.log';
const LIVE_RESTORE = '--live-restore';
const ENGINE_WAIT_MS = 60_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, done: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ENGINE_WAIT_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The running dockerd's program and arguments, to start it again the same way. */
export function engineCommandLine(): string[] {
  const pid = Number(fs.readFileSync(PID_FILE, 'utf8').trim());
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/**
 * Stops dockerd (SIGTERM, as an upgrade or `systemctl restart docker` does) and starts it again
 * from `commandLine`, with or without --live-restore; resolves when the engine answers.
 */
export async function restartEngine(commandLine: string[], liveRestore: boolean): Promise<void> {
  const pid = Number(fs.readFileSync(PID_FILE, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  await until('dockerd to exit', () => !isAlive(pid));
  const [program, ...args] = commandLine;
  const withoutFlag = args.filter((arg) => arg !== LIVE_RESTORE);
  const log = fs.openSync(LOG_FILE, 'a');
  spawn(program, liveRestore ? [...withoutFlag, LIVE_RESTORE] : withoutFlag, { detached: true, stdio: ['ignore', log, log] }).unref();
  fs.closeSync(log);
  const docker = new Docker();
  await until('the Docker engine to answer', async () => docker.ping().then(() => true, () => false));
}
