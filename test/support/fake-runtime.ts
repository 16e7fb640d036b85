import { containerName, imageRepository } from '../../src/model/naming.js';
import type { ListeningSocket } from '../../src/runtime/listening.js';
import type { EngineDiskUsage } from '../../src/runtime/disk.js';
import { stopReason, timeLimit } from '../../src/errors.js';
import type { ContainerHealth, ContainerSpec, ContainerState, ContainerSummary, ExecResult, ImageBuild, ImageFile, OneOffResult, OneOffSpec, Runtime } from '../../src/runtime/runtime.js';
import type { ContainerRecord } from '../../src/store/store.js';
import { Fake } from './fake.js';

export interface FakeContainer extends ContainerSummary {
  image: string;
  port: number;
  logs: string[];
  startedAt: string;
}

/** An engine in memory: image tags, containers with their state, address and output. */
export class FakeRuntime extends Fake<keyof Runtime> implements Runtime {
  readonly images = new Set<string>();
  readonly containers = new Map<string, FakeContainer>();
  /** The apps that have a network: made with an app's first container, as the engine's are. */
  readonly networks = new Set<string>();
  private readonly listeners = new Set<() => void>();
  /** What a one-off container does, by its command: the lines it prints and its exit code; a missing one prints nothing and exits 0. */
  readonly oneOffScripts = new Map<string, { lines: string[]; exitCode: number; hangs?: boolean }>();
  /** Every one-off container run, in order, as asked for. */
  readonly oneOffs: OneOffSpec[] = [];
  private created = 0;
  /** What the engine says of its build cache; pruneBuildCache frees it all. */
  buildCache = { count: 0, bytes: 0 };
  /** What a command run inside a container (execInContainer) gives; exit 0 and no output unless a test says otherwise. */
  exec: (container: FakeContainer, command: string[]) => ExecResult = () => ({ exitCode: 0, output: '' });
  /** Each image of the fake takes this much disk. */
  static readonly IMAGE_BYTES = 1000;

  constructor(readonly instance: string) {
    super();
  }

  /** The container named so, if it exists. */
  named(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.name === name);
  }

  print(id: string, ...lines: string[]): void {
    this.existing(id).logs.push(...lines);
  }

  /** What an engine restart can do: the container runs on at another address. */
  move(id: string, ip: string): void {
    this.existing(id).ip = ip;
  }

  /** The container stops and nothing will start it again (docker stop, an engine restart without live-restore). */
  halt(id: string): void {
    this.existing(id).state = 'exited';
  }

  /** What the engine's start and connect events do: tells every listener to look now. */
  announceChange(): void {
    for (const listener of this.listeners) listener();
  }

  async version(): Promise<string | undefined> {
    this.enter('version');
    return 'fake';
  }

  async keepsContainersOnRestart(): Promise<boolean> {
    this.enter('keepsContainersOnRestart');
    return true;
  }

  onContainerChange(listener: () => void): { stop(): void } {
    this.enter('onContainerChange');
    this.listeners.add(listener);
    return { stop: () => this.listeners.delete(listener) };
  }

  async buildImage(build: ImageBuild): Promise<void> {
    this.enter('buildImage', build.tag);
    for await (const chunk of build.context) build.onLine(`Step: ADD ${String(chunk).split('\n')[0]}`);
    this.images.add(build.tag);
  }

  async imageExists(tag: string): Promise<boolean> {
    this.enter('imageExists', tag);
    return this.images.has(tag);
  }

  async imageDigest(tag: string): Promise<string | undefined> {
    this.enter('imageDigest', tag);
    return this.images.has(tag) ? `sha256:${Buffer.from(tag).toString('hex').padEnd(64, '0').slice(0, 64)}` : undefined;
  }

  /** Files of images, by image and then path, for readImageFile. */
  readonly imageFiles = new Map<string, Record<string, string>>();

  async readImageFile(image: string, file: string, maxBytes: number): Promise<ImageFile> {
    this.enter('readImageFile', image, file, maxBytes);
    const content = this.imageFiles.get(image)?.[file];
    if (content === undefined) return { kind: 'missing' };
    const bytes = Buffer.from(content);
    return { kind: 'file', content: bytes.subarray(0, maxBytes), truncated: bytes.length > maxBytes };
  }

  /** No registry answers the fake: every pull fails as an offline engine's does. */
  async pullImage(reference: string): Promise<void> {
    this.enter('pullImage', reference);
    throw new Error(`Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host (${reference})`);
  }

  async removeImage(tag: string): Promise<void> {
    this.enter('removeImage', tag);
    if (!this.images.delete(tag)) throw new Error(`No such image: ${tag}`);
  }

  async appImageTags(app: string): Promise<string[]> {
    this.enter('appImageTags', app);
    return [...this.images].filter((tag) => tag.startsWith(`${imageRepository(this.instance, app)}:`));
  }

  async removeAppImages(app: string): Promise<number> {
    this.enter('removeAppImages', app);
    const tags = [...this.images].filter((tag) => tag.startsWith(`${imageRepository(this.instance, app)}:`));
    for (const tag of tags) this.images.delete(tag);
    return tags.length;
  }

  async diskUsage(): Promise<EngineDiskUsage> {
    this.enter('diskUsage');
    const images = [...this.images].filter((tag) => tag.startsWith(`${this.instance}/`)).length;
    return { images: { count: images, bytes: images * FakeRuntime.IMAGE_BYTES }, buildCache: { ...this.buildCache } };
  }

  async pruneBuildCache(unusedForSeconds: number): Promise<number> {
    this.enter('pruneBuildCache', unusedForSeconds);
    const freed = this.buildCache.bytes;
    this.buildCache = { count: 0, bytes: 0 };
    return freed;
  }

  async startContainer(spec: ContainerSpec): Promise<ContainerRecord> {
    this.enter('startContainer', spec);
    if (!this.images.has(spec.image)) throw new Error(`No such image: ${spec.image}`);
    this.networks.add(spec.app);
    const name = containerName(this.instance, spec.app, spec.processType, spec.release, spec.index);
    const leftover = this.named(name);
    if (leftover) this.containers.delete(leftover.id);
    this.created += 1;
    const container = { id: `c${this.created}`, name, app: spec.app, release: spec.release, process: spec.processType, state: 'running', ip: `172.20.0.${this.created + 1}`, image: spec.image, port: spec.port, logs: [], startedAt: new Date().toISOString() };
    this.containers.set(container.id, container);
    return { id: container.id, name, process: container.process, ip: container.ip, port: spec.port };
  }

  async removeAppNetwork(app: string): Promise<void> {
    this.enter('removeAppNetwork', app);
    this.networks.delete(app);
  }

  async networkedApps(): Promise<string[]> {
    this.enter('networkedApps');
    return [...this.networks].sort();
  }

  /** Every container's address counts, as if each were on a network of the engine. */
  async isContainerAddress(address: string): Promise<boolean> {
    this.enter('isContainerAddress', address);
    return [...this.containers.values()].some((c) => c.ip === address);
  }

  async containerState(id: string): Promise<ContainerState> {
    this.enter('containerState', id);
    const container = this.containers.get(id);
    if (!container) return { kind: 'gone' };
    if (container.state === 'restarting') return { kind: 'restarting' };
    return container.state === 'running' ? { kind: 'running', ip: container.ip } : { kind: 'stopped' };
  }

  async restartContainer(id: string): Promise<void> {
    this.enter('restartContainer', id);
    const container = this.existing(id);
    container.state = 'running';
    container.startedAt = new Date().toISOString();
  }

  async containerHealth(id: string): Promise<ContainerHealth> {
    this.enter('containerHealth', id);
    const container = this.containers.get(id);
    const running = container?.state === 'running';
    return { running, startedAt: container?.startedAt ?? '', restartCount: 0, exitCode: running ? 0 : 1, oomKilled: false, error: '' };
  }

  async listeningSockets(id: string): Promise<ListeningSocket[] | undefined> {
    this.enter('listeningSockets', id);
    const container = this.containers.get(id);
    return container && [{ address: '0.0.0.0', port: container.port }];
  }

  async execInContainer(id: string, command: string[]): Promise<ExecResult> {
    this.enter('execInContainer', id, command);
    const container = this.existing(id);
    if (container.state !== 'running') throw new Error(`Container ${id} is not running`);
    return this.exec(container, command);
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    this.enter('stopContainer', id, timeoutSeconds);
    const container = this.containers.get(id);
    if (container) container.state = 'exited';
  }

  async removeContainer(idOrName: string): Promise<void> {
    this.enter('removeContainer', idOrName);
    this.containers.delete(this.named(idOrName)?.id ?? idOrName);
  }

  async appContainers(app: string): Promise<ContainerSummary[]> {
    this.enter('appContainers', app);
    return this.summaries().filter((c) => c.app === app);
  }

  async instanceContainers(): Promise<ContainerSummary[]> {
    this.enter('instanceContainers');
    return this.summaries();
  }

  async oneOffContainers(app: string): Promise<ContainerSummary[]> {
    this.enter('oneOffContainers', app);
    return [];
  }

  /** Prints the script's lines and exits with its code; one that hangs waits for its limit or the signal, like a killed container. */
  async runOneOff(spec: OneOffSpec): Promise<OneOffResult> {
    this.enter('runOneOff', spec);
    if (!this.images.has(spec.image)) throw new Error(`No such image: ${spec.image}`);
    this.oneOffs.push(spec);
    const script = this.oneOffScripts.get(spec.command) ?? { lines: [], exitCode: 0 };
    spec.onStart?.();
    for (const line of script.lines) await spec.onLine(line);
    if (!script.hangs) return { name: spec.name, exitCode: script.exitCode, durationMs: 1, stopped: undefined };
    const limit = AbortSignal.any([timeLimit(spec.timeoutSeconds, spec.name, spec.limitName), ...(spec.signal ? [spec.signal] : [])]);
    // The limits' timers do not hold the process open; a real container's connection to the engine does.
    const engine = setInterval(() => undefined, 1000);
    await new Promise((resolve) => limit.addEventListener('abort', resolve, { once: true }));
    clearInterval(engine);
    return { name: spec.name, exitCode: 137, durationMs: spec.timeoutSeconds * 1000, stopped: stopReason(limit) };
  }

  async logTail(id: string, lines: number): Promise<string[]> {
    this.enter('logTail', id, lines);
    return this.containers.get(id)?.logs.slice(-lines) ?? [];
  }

  async followLogs(id: string, lines: number, onLine: (line: string) => void | Promise<void>): Promise<void> {
    this.enter('followLogs', id, lines);
    for (const line of this.containers.get(id)?.logs.slice(-lines) ?? []) await onLine(line);
  }

  private existing(id: string): FakeContainer {
    const container = this.containers.get(id);
    if (!container) throw new Error(`No such container: ${id}`);
    return container;
  }

  private summaries(): ContainerSummary[] {
    return [...this.containers.values()].map(({ id, name, app, release, process, state, ip }) => ({ id, name, app, release, process, state, ip })).sort((a, b) => a.name.localeCompare(b.name));
  }
}
