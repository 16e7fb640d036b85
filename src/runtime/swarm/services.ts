import crypto from 'node:crypto';
import type Docker from 'dockerode';
import { appLabels, containerName, labelsMatch } from '../../model/naming.js';
import type { ContainerLimits } from '../../model/resources.js';
import { isStatus } from '../engine.js';
import { swarmNode, type RawNode } from './cluster.js';

/** Docker's longest service name. */
const MAX_SERVICE_NAME = 63;

/** One process type of one release, as a replicated Swarm service. */
export interface ServiceSpec {
  instance: string;
  app: string;
  release: number;
  processType: string;
  /** What the nodes pull: REGISTRY/REPO@sha256:... */
  image: string;
  command: string | undefined;
  env: Record<string, string>;
  /** The container's port; published on its node at a port Docker picks, only when it serves (web). */
  port: number | undefined;
  replicas: number;
  limits: ContainerLimits;
  stopTimeoutSeconds: number;
}

/** A task of a service as berth needs it: where it runs, how it is doing, and how the edge reaches it. */
export interface TaskView {
  id: string;
  service: string;
  slot: number;
  node: string;
  /** The engine's word for where the task is (running, starting, failed, shutdown...). */
  state: string;
  desiredState: string;
  containerId: string | undefined;
  /** The node's port published for the container's; undefined before it runs. */
  publishedPort: number | undefined;
  /** Why it failed or was rejected, as the engine says. */
  error: string | undefined;
  labels: Record<string, string>;
}

/** INSTANCE_APP_TYPE_RELEASE as for containers; a name too long for Docker keeps its instance and release and hashes the rest. */
export function serviceName(instance: string, app: string, processType: string, release: number): string {
  const name = containerName(instance, app, processType, release, 1);
  if (name.length <= MAX_SERVICE_NAME) return name;
  const hash = crypto.createHash('sha256').update(`${app}\0${processType}`).digest('hex').slice(0, 12);
  return `${instance}_${hash}_${release}`;
}

/** Creates the service; a leftover of the same name and labels (berth stopped mid-deploy) is replaced first. */
export async function createService(manager: Docker, spec: ServiceSpec): Promise<string> {
  const name = serviceName(spec.instance, spec.app, spec.processType, spec.release);
  const labels = appLabels(spec.instance, spec.app, spec.release, spec.processType);
  await removeLeftoverService(manager, name, labels);
  const env = { ...spec.env, ...(spec.port === undefined ? {} : { PORT: String(spec.port) }) };
  await manager.createService({
    Name: name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        ...(spec.command ? { Command: ['/bin/sh', '-c', spec.command] } : {}),
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        Labels: labels,
        // Node as PID 1 ignores SIGTERM; an init process forwards it, as for local containers.
        Init: true,
        StopGracePeriod: spec.stopTimeoutSeconds * 1e9,
      },
      Resources: { Limits: resourceLimits(spec.limits) },
      RestartPolicy: { Condition: 'any', Delay: 1e9 },
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
    },
    Mode: { Replicated: { Replicas: spec.replicas } },
    // Host-mode publishing without a published port: each task gets a port of its node's own, which the edge reaches at the node's address.
    EndpointSpec: spec.port === undefined ? { Mode: 'dnsrr' } : { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: spec.port, PublishMode: 'host' }] },
  } as Docker.CreateServiceOptions);
  return name;
}

function resourceLimits(limits: ContainerLimits): { MemoryBytes?: number; NanoCPUs?: number; Pids?: number } {
  return {
    ...(limits.memory === undefined ? {} : { MemoryBytes: limits.memory }),
    ...(limits.cpus === undefined ? {} : { NanoCPUs: Math.round(limits.cpus * 1e9) }),
    Pids: limits.pids,
  };
}

async function removeLeftoverService(manager: Docker, name: string, labels: Record<string, string>): Promise<void> {
  let existing: { Spec?: { Labels?: Record<string, string> } };
  try {
    existing = await manager.getService(name).inspect();
  } catch (error) {
    if (isStatus(error, 404)) return;
    throw error;
  }
  if (!labelsMatch(existing.Spec?.Labels ?? {}, labels)) throw new Error(`a service named ${name} already exists and is not this release's; remove it yourself (docker service rm ${name}) if it is not needed`);
  await removeService(manager, name);
}

/** A missing service is fine: its tasks stop with their grace period. */
export async function removeService(manager: Docker, name: string): Promise<void> {
  try {
    await manager.getService(name).remove();
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
}

/** The services of this berth carrying every one of these labels, by name. */
export async function listServices(manager: Docker, labels: Record<string, string>): Promise<Array<{ name: string; labels: Record<string, string> }>> {
  const services = await manager.listServices({ filters: { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) } });
  return services.map((service) => ({ name: service.Spec?.Name ?? '', labels: service.Spec?.Labels ?? {} })).sort((a, b) => a.name.localeCompare(b.name));
}

/** The tasks of the services carrying these labels (the current ones: what runs and what Swarm is still placing or has just lost). */
export async function listTasks(manager: Docker, labels: Record<string, string>, service?: string): Promise<TaskView[]> {
  const filters: Record<string, string[]> = { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
  if (service) filters.service = [service];
  const tasks = (await manager.listTasks({ filters })) as RawTask[];
  const services = new Map((await manager.listServices({ filters: { label: filters.label } })).map((s) => [s.ID, s.Spec?.Name ?? '']));
  return tasks.map((task) => taskView(task, services.get(task.ServiceID ?? '') ?? '')).filter((task) => !service || task.service === service);
}

interface RawTask {
  ID: string;
  ServiceID?: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  Labels?: Record<string, string>;
  Spec?: { ContainerSpec?: { Labels?: Record<string, string> } };
  Status?: { State?: string; Err?: string; ContainerStatus?: { ContainerID?: string }; PortStatus?: { Ports?: Array<{ PublishedPort?: number; PublishMode?: string }> } };
}

function taskView(task: RawTask, service: string): TaskView {
  const status = task.Status ?? {};
  return {
    id: task.ID,
    service,
    slot: task.Slot ?? 0,
    node: task.NodeID ?? '',
    state: status.State ?? 'unknown',
    desiredState: task.DesiredState ?? 'unknown',
    containerId: status.ContainerStatus?.ContainerID || undefined,
    publishedPort: status.PortStatus?.Ports?.find((port) => port.PublishMode === 'host')?.PublishedPort,
    error: status.Err || undefined,
    labels: task.Spec?.ContainerSpec?.Labels ?? {},
  };
}

/** Each node's address as the manager knows it, by node id. */
export async function nodeAddresses(manager: Docker): Promise<Map<string, { address: string; name: string; state: string }>> {
  const nodes = (await manager.listNodes()).map((node: RawNode) => swarmNode(node, 0, null));
  return new Map(nodes.map((node) => [node.id, { address: node.address, name: node.name, state: node.state }]));
}
