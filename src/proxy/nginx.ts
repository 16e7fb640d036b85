import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BerthError, describe } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';
import { childPids, commandLine, isAlive } from '../host/processes.js';
import { sleep } from '../time.js';
import { findOrphanedWorkers, letGoOfSockets, retireOrphans, startInheriting, type OrphanedWorkers } from './orphans.js';

export interface NginxInstanceOptions {
  /** For messages: which of berth's nginx instances this is. */
  name: string;
  bin: string;
  prefix: string;
  /** The main config: all there is, since everything that changes lives in nginx's memory. */
  renderMain(): string;
  /** Called before a start: leftovers (a stale unix socket) that would block it; `inherited` are the sockets it takes over, as `unix:PATH` or `tcp:PORT`. */
  beforeStart?(inherited: string[]): Promise<void>;
  /** What berth's own log should say: a master that died and what berth did about it. */
  log(line: string): void;
}

const RELOAD_CONFIRM_MS = 10_000;
/** SIGQUIT makes a worker close its listening sockets at once; this bounds waiting for that. */
const ORPHANS_LET_GO_MS = 2000;

/**
 * One nginx master with its own prefix, config and pid under the data dir. berth starts it when
 * it is not running and never stops it, so traffic does not depend on the berth process. Its
 * config is tested before it goes live, so a config nginx rejects never does.
 */
export class NginxInstance {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: NginxInstanceOptions) {}

  get prefix(): string {
    return this.options.prefix;
  }
  private get mainConfig(): string {
    return path.join(this.prefix, 'nginx.conf');
  }
  get errorLog(): string {
    return path.join(this.prefix, 'logs', 'error.log');
  }
  private get pidFile(): string {
    return path.join(this.prefix, 'run', 'nginx.pid');
  }

  /** Writes the main config, then starts nginx or, when it already runs, reloads it if that config changed. */
  async ensureRunning(): Promise<void> {
    return this.serialized(async () => {
      for (const dir of ['run', 'logs', 'tmp', 'staging']) await fs.mkdir(path.join(this.prefix, dir), { recursive: true });
      const text = this.options.renderMain();
      const previous = await fs.readFile(this.mainConfig, 'utf8').catch(() => '');
      const staged = path.join(this.prefix, 'staging', 'nginx.conf');
      await fs.writeFile(staged, text);
      await this.test(staged);
      if (text !== previous) await writeFileAtomic(this.mainConfig, text);
      const master = await this.masterPid();
      if (master === undefined) await this.start();
      else if (text !== previous) await this.reloadAndConfirm(master);
    });
  }

  async masterPid(): Promise<number | undefined> {
    const text = await fs.readFile(this.pidFile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (!pid || !isAlive(pid)) return undefined;
    return (await commandLine(pid)).includes('nginx') ? pid : undefined;
  }

  /**
   * SIGHUP returns at once. The new config is live only when new workers run and every old
   * worker has stopped accepting: it is gone, or titled "shutting down" (nginx closes its
   * listening sockets as it takes that title).
   */
  private async reloadAndConfirm(master: number): Promise<void> {
    const before = await childPids(master);
    process.kill(master, 'SIGHUP');
    const deadline = Date.now() + RELOAD_CONFIRM_MS;
    while (Date.now() < deadline) {
      await sleep(10);
      const now = await childPids(master);
      if (now.some((pid) => !before.includes(pid)) && (await this.allStoppedAccepting(before))) return;
    }
    throw new BerthError(`the ${this.options.name} nginx did not start workers with the new config within ${RELOAD_CONFIRM_MS / 1000} s`, `see ${this.errorLog}`);
  }

  private async allStoppedAccepting(workers: number[]): Promise<boolean> {
    for (const pid of workers) {
      if (isAlive(pid) && !(await commandLine(pid)).includes('shutting down')) return false;
    }
    return true;
  }

  private async start(): Promise<void> {
    await fs.rm(this.pidFile, { force: true });
    const orphans = await findOrphanedWorkers(this.errorLog);
    if (orphans.pids.length > 0) return this.takeOver(orphans);
    await this.options.beforeStart?.([]);
    await this.launch();
  }

  /**
   * A master killed on its own left workers that serve the old config and hold the listening
   * sockets. A new master inherits those very sockets, so nothing is refused meanwhile; then the
   * orphans finish the requests they have and exit. Where the sockets cannot be inherited, the
   * orphans let go of them first, and connections in that gap are refused.
   */
  private async takeOver(orphans: OrphanedWorkers): Promise<void> {
    const { name, log } = this.options;
    log(`the ${name} nginx's master is gone, but ${orphans.pids.length} of its workers still serve (pids ${orphans.pids.join(', ')})`);
    const inherited = orphans.holder && (await this.startInheriting(orphans.holder));
    retireOrphans(orphans.pids);
    // Whatever connects after this (berth's next change on the admin socket too) reaches the new master's workers.
    await letGoOfSockets(orphans.pids, ORPHANS_LET_GO_MS);
    if (inherited) {
      log(`a new ${name} master (pid ${inherited}) serves on their listening sockets with the current configuration; the old workers finish their open requests and exit`);
      return;
    }
    await this.options.beforeStart?.([]);
    await this.launch();
    log(`a new ${name} master started once the old workers had let go of the listening sockets; connections in between were refused`);
  }

  /** The new master's pid, or undefined (said in the log) when it could not inherit the sockets. */
  private async startInheriting(holder: NonNullable<OrphanedWorkers['holder']>): Promise<number | undefined> {
    try {
      await this.options.beforeStart?.(holder.addresses);
      const isNewMaster = async (pid: number) => (await this.masterPid()) === pid && (await childPids(pid)).length > 0;
      return await startInheriting(holder, [this.options.bin, ...this.nginxArgs([], this.mainConfig)], this.errorLog, isNewMaster);
    } catch (error) {
      this.options.log(`${describe(error)}; the old workers let go of the sockets first, and a new master binds them`);
      return undefined;
    }
  }

  private async launch(): Promise<void> {
    const { code, output } = await this.runNginx([]);
    if (code !== 0) throw new BerthError(`the ${this.options.name} nginx failed to start: ${output.trim()}`, `see ${this.errorLog}`);
    for (let i = 0; i < 50 && (await this.masterPid()) === undefined; i++) await sleep(100);
    if ((await this.masterPid()) === undefined) throw new BerthError(`the ${this.options.name} nginx exited right after starting`, `see ${this.errorLog}`);
  }

  private async test(configFile: string): Promise<void> {
    const { code, output } = await this.runNginx(['-t', '-q'], configFile);
    if (code !== 0) {
      throw new BerthError(`nginx rejected the new ${this.options.name} configuration: ${output.trim().split('\n').slice(-3).join(' ')}`, 'the live configuration was left as it was');
    }
  }

  /** The daemon detaches on its own; we wait for the launcher process, not for its inherited pipes. */
  private runNginx(extra: string[], configFile = this.mainConfig): Promise<{ code: number; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.bin, this.nginxArgs(extra, configFile), { stdio: ['ignore', 'ignore', 'pipe'] });
      let output = '';
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', (error) => reject(new BerthError(`cannot run ${this.options.bin}: ${error.message}`, 'install nginx (npm start does it: apt-get install nginx)')));
      child.on('exit', (code) => {
        child.stderr.destroy();
        resolve({ code: code ?? 1, output });
      });
    });
  }

  private nginxArgs(extra: string[], configFile: string): string[] {
    return ['-p', this.prefix, '-e', this.errorLog, '-c', configFile, ...extra];
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
