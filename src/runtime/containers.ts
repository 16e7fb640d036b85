import type Docker from 'dockerode';
import { BerthError } from '../errors.js';
import { appLabels, containerName, describeOwner, LABEL, labelsMatch } from '../model/naming.js';
import type { ContainerRecord } from '../store/store.js';
import { isStatus } from './engine.js';
import { listeningSockets, type ListeningSocket } from './listening.js';
import { appAddress } from './networks.js';
import type { ContainerMount } from '../model/storage.js';
import type { ContainerHealth, ContainerSpec, ContainerState, ContainerSummary } from './runtime.js';
import { dockerMounts, handOverManagedDirs, makeManagedDirs } from './storage.js';

/** Where a container goes: which berth made it, and the app's own network it runs on. */
export interface Placement {
  instance: string;
  network: string;
}

/** What the host side of a container is made of; one-off containers give the same as app containers. */
export type HostSpec = Pick<ContainerSpec, 'app' | 'processType' | 'limits'>;

/**
 * Every container berth creates, app or one-off, gets its HostConfig here, so whatever fences or
 * mounts an app's containers applies to its one-offs too. Every container is fenced by default: a
 * pids limit (a fork bomb stops there, not at the host's process table), no gaining privileges
 * through setuid binaries, and no raw sockets (no forged packets or ARP games on the bridge);
 * memory and CPU as the operator set them. A one-off runs once: the engine never restarts it.
 */
export function containerHostConfig(spec: HostSpec, network: string, lifetime: 'service' | 'one-off'): Docker.HostConfig {
  const { memory, cpus, pids } = spec.limits;
  return {
    // Node as PID 1 ignores SIGTERM; an init process forwards it, so retiring takes milliseconds.
    Init: true,
    RestartPolicy: { Name: lifetime === 'service' ? 'unless-stopped' : 'no' },
    NetworkMode: network,
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    PidsLimit: pids,
    SecurityOpt: ['no-new-privileges'],
    CapDrop: ['NET_RAW'],
    ...(memory === undefined ? {} : { Memory: memory }),
    ...(cpus === undefined ? {} : { NanoCpus: Math.round(cpus * 1e9) }),
  };
}

export async function startContainer(docker: Docker, placement: Placement, spec: ContainerSpec): Promise<ContainerRecord> {
  const name = containerName(placement.instance, spec.app, spec.processType, spec.release, spec.index);
  const labels = appLabels(placement.instance, spec.app, spec.release, spec.processType);
  await removeLeftover(docker, name, labels);
  const env = { ...spec.env, PORT: String(spec.port) };
  const container = await createAppContainer(
    docker,
    {
      name,
      Image: spec.image,
      ...(spec.command ? { Cmd: ['/bin/sh', '-c', spec.command] } : {}),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: labels,
      HostConfig: containerHostConfig(spec, placement.network, 'service'),
    },
    spec.mounts,
  );
  await container.start();
  const info = await container.inspect();
  const ip = info.NetworkSettings.Networks[placement.network]?.IPAddress;
  if (!ip) throw new Error(`container ${name} has no address on network ${placement.network}`);
  return { id: info.Id, name, process: spec.processType, ip, port: spec.port };
}

/**
 * The one way berth creates a container: with the app's storage mounted (src/model/storage.ts's
 * mountsFor gives them), its managed directories made beforehand and handed to the image's user
 * once the container exists. A container whose storage cannot be readied is removed again.
 */
export async function createAppContainer(docker: Docker, options: Docker.ContainerCreateOptions, mounts: ContainerMount[]): Promise<Docker.Container> {
  await makeManagedDirs(mounts);
  const container = await docker.createContainer({ ...options, HostConfig: { ...options.HostConfig, Mounts: dockerMounts(mounts) } });
  try {
    await handOverManagedDirs(container, mounts);
  } catch (error) {
    await removeContainer(docker, container.id);
    throw error;
  }
  return container;
}

/**
 * A container under this name that carries these labels is a leftover of an earlier attempt at the
 * same release (berth stopped mid-deploy), and goes. Any other is not berth's to remove: another
 * app's, another berth's or the operator's own.
 */
export async function removeLeftover(docker: Docker, name: string, labels: Record<string, string>): Promise<void> {
  let existing: Docker.ContainerInspectInfo;
  try {
    existing = await docker.getContainer(name).inspect();
  } catch (error) {
    if (isStatus(error, 404)) return;
    throw error;
  }
  if (!labelsMatch(existing.Config.Labels, labels)) {
    throw new BerthError(
      `a container named ${name} already exists and ${describeOwner(existing.Config.Labels)}; berth does not remove it`,
      `remove or rename that container yourself if it is not needed (docker rm -f ${name}), then deploy again`,
    );
  }
  await removeContainer(docker, existing.Id);
}

export async function containerState(docker: Docker, id: string, instance: string): Promise<ContainerState> {
  try {
    const info = await docker.getContainer(id).inspect();
    if (info.State.Restarting) return { kind: 'restarting' };
    if (!info.State.Running) return { kind: 'stopped' };
    return { kind: 'running', ip: appAddress(info.NetworkSettings.Networks, instance, info.Config.Labels[LABEL.app] ?? '') };
  } catch (error) {
    if (isStatus(error, 404)) return { kind: 'gone' };
    throw error;
  }
}

export async function containerHealth(docker: Docker, id: string): Promise<ContainerHealth> {
  const info = await docker.getContainer(id).inspect();
  return {
    running: info.State.Running && !info.State.Restarting,
    startedAt: info.State.StartedAt,
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

/** Containers carrying every one of the labels, as summaries sorted by name. */
export async function listContainers(docker: Docker, instance: string, labels: Record<string, string>, kind: 'service' | 'one-off' | 'all' = 'all'): Promise<ContainerSummary[]> {
  const list = await docker.listContainers({ all: true, filters: { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) } });
  const wanted = list.filter((info) => kind === 'all' || (info.Labels[LABEL.role] === undefined) === (kind === 'service'));
  return wanted.map((info) => summarize(info, instance)).sort((a, b) => a.name.localeCompare(b.name));
}

function summarize(info: Docker.ContainerInfo, instance: string): ContainerSummary {
  const app = info.Labels[LABEL.app] ?? '';
  return {
    id: info.Id,
    name: (info.Names[0] ?? '').replace(/^\//, ''),
    app,
    release: Number(info.Labels[LABEL.release]),
    process: info.Labels[LABEL.process] ?? '',
    state: info.State,
    ip: appAddress(info.NetworkSettings?.Networks, instance, app),
  };
}
