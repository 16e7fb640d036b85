import type { Readable } from 'node:stream';
import type { BerthError } from '../errors.js';
import type { ContainerLimits } from '../model/resources.js';
import type { ContainerMount } from '../model/storage.js';
import type { ContainerRecord } from '../store/store.js';
import type { EngineDiskUsage } from './disk.js';
import type { ListeningSocket } from './listening.js';

/**
 * Everything berth asks of the container engine, for one berth instance, each app on its own network. The
 * deploy pipeline, the reconciler and the app operations see only this, so their unit tests can
 * run them against a fake engine that fails wherever a test wants; DockerRuntime is the real one.
 */
export interface Runtime {
  /** The engine's version, or undefined when it does not answer. */
  version(): Promise<string | undefined>;
  /** Whether restarting the engine leaves the containers running (Docker's live-restore). */
  keepsContainersOnRestart(): Promise<boolean>;
  /** Calls `listener` soon after a container starts or joins a network; only says "look now". */
  onContainerChange(listener: () => void): { stop(): void };

  /** Builds and tags an image; rejects with an ImageBuildError that says whether the engine refused or the build failed. */
  buildImage(build: ImageBuild): Promise<void>;
  imageExists(tag: string): Promise<boolean>;
  /** The engine's id of the image (sha256:...), which names its content; undefined when there is none. */
  imageDigest(tag: string): Promise<string | undefined>;
  /** Pulls an image from its registry; rejects with the engine's reason. */
  pullImage(reference: string, signal: AbortSignal): Promise<void>;
  /** A file of an image (a relative path is under its WORKDIR), its first maxBytes; the image's own files, never run. */
  readImageFile(image: string, file: string, maxBytes: number): Promise<ImageFile>;
  /** Removes one tag (the image goes with its last tag); rejects when the engine will not. */
  removeImage(tag: string): Promise<void>;
  /** Every tag of the app's images, `INSTANCE/APP:RELEASE`. */
  appImageTags(app: string): Promise<string[]>;
  /** Removes every image of the app, in use or not; resolves with how many there were. */
  removeAppImages(app: string): Promise<number>;
  /** Disk used by this berth's images and by the engine's build cache. */
  diskUsage(): Promise<EngineDiskUsage>;
  /** Removes build cache unused for that long (what failed builds left); resolves with the bytes freed. */
  pruneBuildCache(unusedForSeconds: number): Promise<number>;

  /**
   * Starts a container beside whatever runs, on the app's own network (made with the app's first
   * container); a leftover of the same name (an interrupted deploy) is replaced.
   */
  startContainer(spec: ContainerSpec): Promise<ContainerRecord>;
  /** Removes the app's network once its containers are gone; a missing one is fine. */
  removeAppNetwork(app: string): Promise<void>;
  /** The apps of this instance that have a network. */
  networkedApps(): Promise<string[]>;
  /** Whether the address is on one of the engine's networks: a container's or a build step's, never the operator's. */
  isContainerAddress(address: string): Promise<boolean>;
  containerState(id: string): Promise<ContainerState>;
  /** Starts a container that exists but is stopped. */
  restartContainer(id: string): Promise<void>;
  containerHealth(id: string): Promise<ContainerHealth>;
  /** What listens inside the container; undefined when berth cannot see it. */
  listeningSockets(id: string): Promise<ListeningSocket[] | undefined>;
  /** Runs a command inside the running container (docker exec, no shell unless the command is one); its exit code and the end of its output. */
  execInContainer(id: string, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<ExecResult>;
  /** SIGTERM, then SIGKILL after timeoutSeconds; a stopped or missing container is fine. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Removes it, running or not; a missing one is fine. */
  removeContainer(idOrName: string): Promise<void>;
  /** The app's long-running containers (its process types), running or not, by name; no one-off containers. */
  appContainers(app: string): Promise<ContainerSummary[]>;
  /** The app's one-off containers that are still there (running, or berth stopped before removing them). */
  oneOffContainers(app: string): Promise<ContainerSummary[]>;

  /**
   * Runs a command to its end in a container of its own, on the app's network, fenced like the
   * app's containers and labelled with its role; its output goes to onLine as it comes. The
   * container is removed afterwards whatever happens; past the time limit, or when the signal
   * fires, it is killed first.
   */
  runOneOff(spec: OneOffSpec): Promise<OneOffResult>;
  /** Every container of this berth instance, of any app. */
  instanceContainers(): Promise<ContainerSummary[]>;

  /** The last lines the container printed, stdout and stderr as the engine stored them. */
  logTail(id: string, lines: number): Promise<string[]>;
  /** The last `lines` lines, then every new one, until the container stops or the signal fires; nothing more is read while onLine's promise is pending. */
  followLogs(id: string, lines: number, onLine: (line: string) => void | Promise<void>, signal: AbortSignal): Promise<void>;
}

/** What readImageFile found: the file (its first maxBytes), nothing, or something else by that name (a directory). */
export type ImageFile = { kind: 'file'; content: Buffer; truncated: boolean } | { kind: 'missing' } | { kind: 'other'; type: string };

export interface ImageBuild {
  /** A tar of the build context, with the Dockerfile at its root. */
  context: Readable;
  tag: string;
  labels: Record<string, string>;
  signal: AbortSignal;
  /** Each line the build prints, as it prints it; while the promise it returns is pending, the build's output waits. */
  onLine(line: string): void | Promise<void>;
}

/** refused: the engine would not start the build (a bad Dockerfile); failed: a step failed. */
export class ImageBuildError extends Error {
  constructor(
    readonly kind: 'refused' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'ImageBuildError';
  }
}

export interface ContainerSpec {
  app: string;
  release: number;
  image: string;
  processType: string;
  /** 1 for the first container of a process type, 2 for the second... */
  index: number;
  /** Overrides the image's command (a Procfile entry); run with /bin/sh -c. */
  command: string | undefined;
  port: number;
  env: Record<string, string>;
  /** Memory, CPU and pids for this container; every container has a pids limit. */
  limits: ContainerLimits;
  /** Storage for this process type (mountsFor in src/model/storage.ts). */
  mounts: ContainerMount[];
}

/** Why a one-off container runs: berth run, a release task of a deploy, or a cron job. */
export type OneOffRole = 'run' | 'release' | 'cron';

export interface OneOffSpec {
  app: string;
  /** The release whose image it runs. */
  release: number;
  image: string;
  role: OneOffRole;
  /** From oneOffName; what berth logs --run and the pusher see. */
  name: string;
  /** Run with /bin/sh -c, as a Procfile line is. */
  command: string;
  env: Record<string, string>;
  limits: ContainerLimits;
  /** The app's storage for its role (mountsFor with run, release or cron as the process type). */
  mounts: ContainerMount[];
  /** Killed and removed past this; `limitName` says which limit it was (`--run-timeout`). */
  timeoutSeconds: number;
  limitName: string;
  /** Fires when whoever asked is gone, or a larger limit (the deploy's) ran out: the container is killed. */
  signal?: AbortSignal;
  /** Given: the container's stdin, closed when the stream ends (berth run -i). */
  stdin?: Readable;
  /** Each line it prints, stdout and stderr together; while the promise is pending, its output waits. */
  onLine(line: string): void | Promise<void>;
  /** Called once the container runs. */
  onStart?(): void;
}

export interface OneOffResult {
  name: string;
  /** The command's exit code; 137 when it was killed. */
  exitCode: number;
  durationMs: number;
  /** Why berth killed it (its time limit, the signal); undefined when it ended by itself. */
  stopped: BerthError | undefined;
}

/**
 * Where a container is now: gone, stopped (nothing will start it), being restarted by its restart
 * policy, or running at an address on its app's network (which an engine restart may change).
 */
export type ContainerState = { kind: 'gone' } | { kind: 'stopped' } | { kind: 'restarting' } | { kind: 'running'; ip: string };

export interface ContainerHealth {
  running: boolean;
  /** When the container last started (ISO time), as the engine says. */
  startedAt: string;
  restartCount: number;
  exitCode: number;
  oomKilled: boolean;
  error: string;
}

/** A container as a listing shows it, with what its labels say. */
export interface ContainerSummary {
  id: string;
  name: string;
  app: string;
  release: number;
  process: string;
  /** running, exited, restarting... as the engine says. */
  state: string;
  /** On its app's network; empty when it has no address there. swarm: its node's address. */
  ip: string;
  /** swarm: the node's port published for it, its node's id and its service. */
  port?: number;
  node?: string;
  service?: string;
}

/** How a command run inside a container ended: exitCode undefined when it did not end within its time. */
export interface ExecResult {
  exitCode: number | undefined;
  /** The last EXEC_OUTPUT_MAX_BYTES of stdout and stderr, as printed. */
  output: string;
}

export const EXEC_OUTPUT_MAX_BYTES = 4096;
