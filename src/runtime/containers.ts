import type Docker from 'dockerode';
import { appLabels, LABEL } from './labels.js';
import { isStatus } from './engine.js';
import { listeningSockets, type ListeningSocket } from './listening.js';
import type { ContainerRecord } from '../store/store.js';

export interface StartSpec {
  instance: string;
  network: string;
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
}

export interface ContainerHealth {
  running: boolean;
  restartCount: number;
  exitCode: number;
  oomKilled: boolean;
  error: string;
}

export function containerName(spec: Pick<StartSpec, 'instance' | 'app' | 'processType' | 'release' | 'index'>): string {
  const base = `${spec.instance}-${spec.app}-${spec.processType}-${spec.release}`;
  return spec.index > 1 ? `${base}-${spec.index}` : base;
}

/** Starts the release's container beside whatever already runs; a leftover of the same name (an interrupted deploy) is replaced. */
export async function startContainer(docker: Docker, spec: StartSpec): Promise<ContainerRecord> {
  const name = containerName(spec);
  await removeContainer(docker, name);
  const env = { ...spec.env, PORT: String(spec.port) };
  const container = await docker.createContainer({
    name,
    Image: spec.image,
    ...(spec.command ? { Cmd: ['/bin/sh', '-c', spec.command] } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: appLabels(spec.instance, spec.app, spec.release, spec.processType),
    HostConfig: {
      // Node as PID 1 ignores SIGTERM; an init process forwards it, so retiring takes milliseconds.
      Init: true,
      RestartPolicy: { Name: 'unless-stopped' },
      NetworkMode: spec.network,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
  });
  await container.start();
  const info = await container.inspect();
  const ip = info.NetworkSettings.Networks[spec.network]?.IPAddress;
  if (!ip) throw new Error(`container ${name} has no address on network ${spec.network}`);
  return { id: info.Id, name, process: spec.processType, ip, port: spec.port };
}

/**
 * Where a container is now: gone, stopped (nothing will start it), being restarted by its restart
 * policy, or running at an address on berth's network (which an engine restart may change).
 */
export type ContainerState = { kind: 'gone' } | { kind: 'stopped' } | { kind: 'restarting' } | { kind: 'running'; ip: string };

export async function containerState(docker: Docker, id: string, network: string): Promise<ContainerState> {
  try {
    const info = await docker.getContainer(id).inspect();
    if (info.State.Restarting) return { kind: 'restarting' };
    if (!info.State.Running) return { kind: 'stopped' };
    return { kind: 'running', ip: info.NetworkSettings.Networks[network]?.IPAddress ?? '' };
  } catch (error) {
    if (isStatus(error, 404)) return { kind: 'gone' };
    throw error;
  }
}

export async function containerHealth(docker: Docker, id: string): Promise<ContainerHealth> {
  const info = await docker.getContainer(id).inspect();
  return {
    running: info.State.Running && !info.State.Restarting,
    restartCount: info.RestartCount,
    exitCode: info.State.ExitCode,
    oomKilled: info.State.OOMKilled,
    error: info.State.Error,
  };
}

export async function containerListeningSockets(docker: Docker, id: string): Promise<ListeningSocket[] | undefined> {
  const info = await docker.getContainer(id).inspect();
  return info.State.Running ? listeningSockets(info.State.Pid) : undefined;
}

/** The last lines the container printed, stdout and stderr interleaved as Docker stored them. */
export async function containerLogTail(docker: Docker, id: string, lines: number): Promise<string[]> {
  const raw = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as Buffer;
  return demultiplex(raw).split('\n').filter((l) => l.length > 0);
}

/** Docker frames non-TTY logs: 8-byte headers (stream, 0, 0, 0, size32be) before each chunk. */
function demultiplex(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

export async function stopContainer(docker: Docker, id: string, timeoutSeconds: number): Promise<void> {
  try {
    await docker.getContainer(id).stop({ t: timeoutSeconds });
  } catch (error) {
    if (!isStatus(error, 304) && !isStatus(error, 404)) throw error;
  }
}

export async function removeContainer(docker: Docker, idOrName: string): Promise<void> {
  try {
    await docker.getContainer(idOrName).remove({ force: true });
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
}

export async function listAppContainers(docker: Docker, instance: string, app: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${instance}`, `${LABEL.app}=${app}`] } });
}
