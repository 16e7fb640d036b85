import type Docker from 'dockerode';
import type { ContainerRecord } from '../store/store.js';
import { LABEL } from '../model/naming.js';
import { containerHealth, containerListeningSockets, containerState, listContainers, removeContainer, startContainer, stopContainer, type Placement } from './containers.js';
import { connectEngine, engineKeepsContainersOnRestart, engineVersion, ensureNetwork } from './engine.js';
import { followEngineEvents } from './events.js';
import { appImageTags, buildImage, imageExists, removeAppImages, removeImage } from './images.js';
import type { ListeningSocket } from './listening.js';
import { readLogLines } from './logs.js';
import type { ContainerHealth, ContainerSpec, ContainerState, ContainerSummary, ImageBuild, Runtime } from './runtime.js';

/** The Runtime on the local Docker engine, through dockerode; every engine call of berth goes through here. */
export class DockerRuntime implements Runtime {
  private constructor(
    private readonly docker: Docker,
    private readonly placement: Placement,
  ) {}

  /** Checks that the engine answers and makes the instance's network when it is missing. */
  static async connect(instance: string): Promise<DockerRuntime> {
    const docker = await connectEngine();
    const network = await ensureNetwork(docker, instance);
    return new DockerRuntime(docker, { instance, network });
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

  imageExists(tag: string): Promise<boolean> {
    return imageExists(this.docker, tag);
  }

  removeImage(tag: string): Promise<void> {
    return removeImage(this.docker, tag);
  }

  appImageTags(app: string): Promise<string[]> {
    return appImageTags(this.docker, this.placement.instance, app);
  }

  removeAppImages(app: string): Promise<number> {
    return removeAppImages(this.docker, this.placement.instance, app);
  }

  startContainer(spec: ContainerSpec): Promise<ContainerRecord> {
    return startContainer(this.docker, this.placement, spec);
  }

  containerState(id: string): Promise<ContainerState> {
    return containerState(this.docker, id, this.placement.network);
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

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    return stopContainer(this.docker, id, timeoutSeconds);
  }

  removeContainer(idOrName: string): Promise<void> {
    return removeContainer(this.docker, idOrName);
  }

  appContainers(app: string): Promise<ContainerSummary[]> {
    return listContainers(this.docker, this.placement.network, { [LABEL.instance]: this.placement.instance, [LABEL.app]: app });
  }

  instanceContainers(): Promise<ContainerSummary[]> {
    return listContainers(this.docker, this.placement.network, { [LABEL.instance]: this.placement.instance });
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
