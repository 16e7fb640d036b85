import type Docker from 'dockerode';
import type { ContainerRecord } from '../store/store.js';
import { LABEL } from '../model/naming.js';
import { type Placement, containerHealth, containerListeningSockets, containerState, listContainers, removeContainer, startContainer, stopContainer } from './containers.js';
import { pruneBuildCache, readEngineDiskUsage, type EngineDiskUsage } from './disk.js';
import { execInContainer } from './exec.js';
import { connectEngine, engineKeepsContainersOnRestart, engineVersion } from './engine.js';
import { followEngineEvents } from './events.js';
import { appImageTags, buildImage, imageDigest, imageExists, pullImage, readImageFile, removeAppImages, removeImage } from './images.js';
import type { ListeningSocket } from './listening.js';
import { readLogLines } from './logs.js';
import { ensureAppNetwork, networkedApps, networkSubnets, removeAppNetwork, removeSharedNetworkIfUnused } from './networks.js';
import { ContainerSubnets } from './subnets.js';
import { runOneOff } from './one-off.js';
import type { ContainerHealth, ContainerSpec, ContainerState, ContainerSummary, ExecResult, ImageBuild, ImageFile, OneOffResult, OneOffSpec, Runtime } from './runtime.js';

/** The Runtime on the local Docker engine, through dockerode; every engine call of berth goes through here. */
export class DockerRuntime implements Runtime {
  private readonly subnets: ContainerSubnets;

  private constructor(
    private readonly docker: Docker,
    private readonly instance: string,
  ) {
    this.subnets = new ContainerSubnets(() => networkSubnets(docker));
  }

  /** Checks that the engine answers; the network every app shared before goes once nothing is on it. */
  static async connect(instance: string): Promise<DockerRuntime> {
    const docker = await connectEngine();
    await removeSharedNetworkIfUnused(docker, instance);
    return new DockerRuntime(docker, instance);
  }

  version(): Promise<string | undefined> {
    return engineVersion(this.docker);
  }

  keepsContainersOnRestart(): Promise<boolean> {
    return engineKeepsContainersOnRestart(this.docker);
  }

  onContainerChange(listener: () => void): { stop(): void } {
    return followEngineEvents(this.docker, { type: ['container', 'network'], event: ['start', 'connect'] }, listener);
  }

  buildImage(build: ImageBuild): Promise<void> {
    return buildImage(this.docker, build);
  }

  /** Hands a local image to a registry (berth's, for its swarm nodes), which pushes it from this engine; resolves with what the registry says nodes pull. */
  pushImageTo(registry: { pushImage(docker: Docker, tag: string, onLine: (line: string) => void): Promise<string> }, tag: string, onLine: (line: string) => void): Promise<string> {
    return registry.pushImage(this.docker, tag, onLine);
  }

  imageExists(tag: string): Promise<boolean> {
    return imageExists(this.docker, tag);
  }

  removeImage(tag: string): Promise<void> {
    return removeImage(this.docker, tag);
  }

  imageDigest(tag: string): Promise<string | undefined> {
    return imageDigest(this.docker, tag);
  }

  pullImage(reference: string, signal: AbortSignal): Promise<void> {
    return pullImage(this.docker, reference, signal);
  }

  readImageFile(image: string, file: string, maxBytes: number): Promise<ImageFile> {
    return readImageFile(this.docker, this.instance, image, file, maxBytes);
  }

  appImageTags(app: string): Promise<string[]> {
    return appImageTags(this.docker, this.instance, app);
  }

  removeAppImages(app: string): Promise<number> {
    return removeAppImages(this.docker, this.instance, app);
  }

  diskUsage(): Promise<EngineDiskUsage> {
    return readEngineDiskUsage(this.docker, this.instance);
  }

  pruneBuildCache(unusedForSeconds: number): Promise<number> {
    return pruneBuildCache(this.docker, unusedForSeconds);
  }

  /** On the app's own network, made with the app's first container. */
  async startContainer(spec: ContainerSpec): Promise<ContainerRecord> {
    return startContainer(this.docker, await this.placement(spec.app), spec);
  }

  private async placement(app: string): Promise<Placement> {
    const network = await ensureAppNetwork(this.docker, this.instance, app);
    if (network.created) this.subnets.invalidate();
    return { instance: this.instance, network: network.name };
  }

  removeAppNetwork(app: string): Promise<void> {
    return removeAppNetwork(this.docker, this.instance, app);
  }

  networkedApps(): Promise<string[]> {
    return networkedApps(this.docker, this.instance);
  }

  isContainerAddress(address: string): Promise<boolean> {
    return this.subnets.contains(address);
  }

  containerState(id: string): Promise<ContainerState> {
    return containerState(this.docker, id, this.instance);
  }

  async restartContainer(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  containerHealth(id: string): Promise<ContainerHealth> {
    return containerHealth(this.docker, id);
  }

  listeningSockets(id: string): Promise<ListeningSocket[] | undefined> {
    return containerListeningSockets(this.docker, id);
  }

  execInContainer(id: string, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<ExecResult> {
    return execInContainer(this.docker, id, command, options);
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    return stopContainer(this.docker, id, timeoutSeconds);
  }

  removeContainer(idOrName: string): Promise<void> {
    return removeContainer(this.docker, idOrName);
  }

  appContainers(app: string): Promise<ContainerSummary[]> {
    return listContainers(this.docker, this.instance, { [LABEL.instance]: this.instance, [LABEL.app]: app }, 'service');
  }

  oneOffContainers(app: string): Promise<ContainerSummary[]> {
    return listContainers(this.docker, this.instance, { [LABEL.instance]: this.instance, [LABEL.app]: app }, 'one-off');
  }

  /** On the app's own network, made now if the app has none yet. */
  async runOneOff(spec: OneOffSpec): Promise<OneOffResult> {
    return runOneOff(this.docker, await this.placement(spec.app), spec);
  }

  instanceContainers(): Promise<ContainerSummary[]> {
    return listContainers(this.docker, this.instance, { [LABEL.instance]: this.instance });
  }

  async logTail(id: string, lines: number): Promise<string[]> {
    const tail: string[] = [];
    await readLogLines(this.docker, id, { tail: lines, follow: false }, (line) => {
      tail.push(line);
    });
    return tail.filter((line) => line.length > 0);
  }

  followLogs(id: string, lines: number, onLine: (line: string) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    return readLogLines(this.docker, id, { tail: lines, follow: true, signal }, onLine);
  }
}
