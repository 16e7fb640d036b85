import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { request } from 'undici';
import { BerthError, describe } from '../../errors.js';
import { hasExited, commandLine } from '../../host/processes.js';
import { LineSplitter } from '../../log/lines.js';
import { checkRegistryAddress, registryHostPort, splitImageTag } from '../../model/registry.js';
import { writeFileAtomic } from '../../store/atomic.js';
import { Serial } from '../../serial.js';
import { sleep } from '../../time.js';
import { eventFailure, parseEvent } from '../images.js';

export interface RegistryOptions {
  dataDir: string;
  /** The docker-registry binary (--registry). */
  bin: string;
  port: number;
  /** HOST[:PORT] the nodes pull from (--registry-address); undefined: this host's address toward the manager. */
  address: string | undefined;
  /** The swarm manager's address, asked only when no address was given. */
  managerAddress?: () => Promise<string>;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const ANSWER_TIMEOUT_MS = 2_000;
const PORT_RELEASE_MS = 2_000;
const INSTALL_HINT = 'install it: apt-get install docker-registry (npm run setup does it), or name the binary with --registry';
/** One event of the engine's push progress; its own are far smaller. */
const MAX_EVENT_BYTES = 1024 * 1024;
/** Push progress the pusher need not read: one line per layer and state is enough. */
const QUIET_STATES = new Set(['Preparing', 'Waiting', 'Pushing']);

/** The config berth starts docker-registry with: storage in the data dir, every interface (the nodes pull over the network), deletes allowed. */
export function renderRegistryConfig(dir: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  fields:',
    '    service: berth-registry',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: "0.0.0.0:${port}"`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    '',
  ].join('\n');
}

/**
 * This host's own address on the route toward `ip`: a UDP socket's connect picks the route and
 * the source address without sending anything.
 */
export async function localAddressToward(ip: string): Promise<string> {
  const socket = dgram.createSocket(net.isIPv6(ip) ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(9, ip, () => resolve());
    });
    return socket.address().address;
  } catch (error) {
    throw new BerthError(`this host has no route toward the swarm manager at ${ip}: ${describe(error)}`, 'give the address the nodes reach this host by with --registry-address HOST');
  } finally {
    socket.close();
  }
}

/**
 * The registry berth runs for its swarm nodes: Debian's docker-registry, started detached as
 * berth's nginx is, so it outlives a berth restart and is found again by its pid file; started
 * again when it died. berth pushes to it over loopback (which the local engine trusts) and the
 * nodes pull from it over the network by digest.
 */
export class Registry {
  private readonly starts = new Serial();

  constructor(private readonly options: RegistryOptions) {}

  get dir(): string {
    return path.join(this.options.dataDir, 'registry');
  }
  get logFile(): string {
    return path.join(this.dir, 'registry.log');
  }
  private get configFile(): string {
    return path.join(this.dir, 'config.yml');
  }
  private get pidFile(): string {
    return path.join(this.dir, 'registry.pid');
  }
  private get localUrl(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  /** Writes the config, then starts the registry when it is not running (or runs with another config) and waits until it answers. */
  async ensureRunning(): Promise<void> {
    return this.starts.run(async () => {
      await fs.mkdir(path.join(this.dir, 'data'), { recursive: true, mode: 0o700 });
      const text = renderRegistryConfig(this.dir, this.options.port);
      const changed = text !== (await fs.readFile(this.configFile, 'utf8').catch(() => ''));
      if (changed) await writeFileAtomic(this.configFile, text);
      const pid = await this.pid();
      if (pid !== undefined && !changed) return;
      if (pid !== undefined) await this.stop(pid);
      await this.start();
    });
  }

  async isRunning(): Promise<boolean> {
    return (await this.pid()) !== undefined;
  }

  /** The pid of this data dir's registry, when it runs: the pid file's process, and only if it serves this very config. */
  async pid(): Promise<number | undefined> {
    const pid = Number((await fs.readFile(this.pidFile, 'utf8').catch(() => '')).trim());
    if (!pid || (await hasExited(pid))) return undefined;
    return (await commandLine(pid)).includes(this.configFile) ? pid : undefined;
  }

  /** HOST:PORT the nodes pull from: --registry-address, or this host's address toward the swarm manager. */
  async nodeHost(): Promise<string> {
    const { address, port, managerAddress } = this.options;
    if (address !== undefined) return registryHostPort(checkRegistryAddress(address), port);
    if (!managerAddress) throw new BerthError('berth does not know which address the swarm nodes reach its registry by', 'give it with berth serve --registry-address HOST');
    return registryHostPort({ host: await localAddressToward(await managerAddress()), port: undefined }, port);
  }

  /**
   * Pushes the local image `INSTANCE/APP:N` and resolves with the reference the nodes pull:
   * `NODEHOST:PORT/INSTANCE/APP@sha256:...`. The loopback tag it is pushed under is removed
   * again, so the local image keeps only its own tags (and release pruning still frees it).
   */
  async pushImage(docker: Docker, localTag: string, onLine: (line: string) => void | Promise<void>, signal?: AbortSignal): Promise<string> {
    const nodeHost = await this.nodeHost();
    await this.ensureRunning();
    const { repository, tag } = splitImageTag(localTag);
    const pushTag = `127.0.0.1:${this.options.port}/${repository}`;
    try {
      await docker.getImage(localTag).tag({ repo: pushTag, tag });
      // The engine refuses a push without X-Registry-Auth, even to a registry that asks for none.
      const progress = (await docker.getImage(`${pushTag}:${tag}`).push({ abortSignal: signal, authconfig: {} })) as NodeJS.ReadableStream;
      const digest = await followPush(progress, onLine);
      return `${nodeHost}/${repository}@${digest}`;
    } catch (error) {
      throw new BerthError(`pushing ${localTag} to berth's registry failed: ${describe(error)}`, `see ${this.logFile}`);
    } finally {
      await docker.getImage(`${pushTag}:${tag}`).remove().catch(() => undefined);
    }
  }

  private async start(): Promise<void> {
    await this.refuseTakenPort();
    const log = await fs.open(this.logFile, 'a', 0o600);
    let exited: string | undefined;
    try {
      const child = spawn(this.options.bin, ['serve', this.configFile], { detached: true, stdio: ['ignore', log.fd, log.fd] });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (error) => reject(new BerthError(`cannot run ${this.options.bin}: ${error.message}`, INSTALL_HINT)));
      });
      child.once('exit', (code, signal) => (exited = signal ?? `code ${code}`));
      child.unref();
      await writeFileAtomic(this.pidFile, `${child.pid}\n`);
    } finally {
      await log.close();
    }
    await this.waitUntilAnswering(() => exited);
  }

  private async waitUntilAnswering(exited: () => string | undefined): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const why = exited();
      if (why !== undefined) throw await this.startFailure(why);
      if (await this.answers()) return;
      await sleep(100);
    }
    throw new BerthError(`berth's registry did not answer on port ${this.options.port} within ${START_TIMEOUT_MS / 1000} s`, `see ${this.logFile}`);
  }

  private async startFailure(why: string): Promise<BerthError> {
    const lines = (await fs.readFile(this.logFile, 'utf8').catch(() => '')).trim().split('\n');
    const last = lines.at(-1) ?? '';
    if (/address already in use/.test(last)) return this.portTaken();
    return new BerthError(`berth's registry (${this.options.bin}) exited right after starting (${why}): ${last}`, `see ${this.logFile}`);
  }

  /**
   * Something else on the port would answer berth's pushes in the registry's stead. A registry
   * just killed holds it a moment longer: its threads close the socket after its pid looks gone.
   */
  private async refuseTakenPort(): Promise<void> {
    const deadline = Date.now() + PORT_RELEASE_MS;
    while (await this.somethingListens()) {
      if (Date.now() > deadline) throw this.portTaken();
      await sleep(100);
    }
  }

  private async somethingListens(): Promise<boolean> {
    const socket = net.connect(this.options.port, '127.0.0.1');
    const listens = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
      socket.setTimeout(ANSWER_TIMEOUT_MS, () => resolve(false));
    });
    socket.destroy();
    return listens;
  }

  private portTaken(): BerthError {
    const { port } = this.options;
    return new BerthError(
      `port ${port} is taken, so berth's registry cannot listen on it`,
      `stop what listens there or give berth serve --registry-port another port${port === 5000 ? " (Debian's own docker-registry service listens on 5000: systemctl disable --now docker-registry)" : ''}`,
    );
  }

  private async answers(): Promise<boolean> {
    try {
      const response = await request(`${this.localUrl}/v2/`, { headersTimeout: ANSWER_TIMEOUT_MS, bodyTimeout: ANSWER_TIMEOUT_MS });
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }

  private async stop(pid: number): Promise<void> {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (!(await hasExited(pid)) && Date.now() < deadline) await sleep(50);
    if (!(await hasExited(pid))) process.kill(pid, 'SIGKILL');
  }

}

/** Passes each layer's outcome on and resolves with the pushed manifest's digest, which the engine gives in the push's aux event. */
async function followPush(progress: NodeJS.ReadableStream, onLine: (line: string) => void | Promise<void>): Promise<string> {
  let digest: string | undefined;
  let failure: string | undefined;
  await pipeline(progress, new LineSplitter(MAX_EVENT_BYTES), async (events: AsyncIterable<string>) => {
    for await (const text of events) {
      const event = parseEvent(text);
      if (!event) continue;
      const failed = eventFailure(event);
      if (failed !== undefined) failure = failed;
      else if (event.aux?.Digest) digest = event.aux.Digest;
      else if (event.status && !QUIET_STATES.has(event.status)) await onLine(event.id ? `${event.id}: ${event.status}` : event.status);
    }
  });
  if (failure !== undefined) throw new Error(failure);
  if (digest === undefined) throw new Error('the engine reported no digest for the pushed image');
  return digest;
}
