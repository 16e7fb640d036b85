import type { DockerRuntime } from '../runtime/docker-runtime.js';
import { AppSchedulers } from '../runtime/schedulers.js';
import { SwarmCluster } from '../runtime/swarm/cluster.js';
import { Registry } from '../runtime/swarm/registry.js';
import { SwarmScheduler } from '../runtime/swarm/scheduler.js';
import { NodesFile } from '../store/nodes.js';
import type { ServeOptions } from './options.js';

/** berth's swarm: its manager and nodes, the registry its nodes pull from, and where each app's containers run. */
export interface Swarm {
  cluster: SwarmCluster;
  registry: Registry;
  schedulers: AppSchedulers;
}

/**
 * The manager of --swarm-engine (else the local engine), DATA_DIR/nodes.json, and berth's
 * registry, which the nodes reach at --registry-address or this host's address toward the manager.
 * Nothing is asked of the manager until a swarm app or a nodes: command needs it.
 */
export async function connectSwarm(options: ServeOptions, runtime: DockerRuntime): Promise<Swarm> {
  let registry: Registry | undefined;
  const cluster = await SwarmCluster.connect({
    dataDir: options.dataDir,
    instance: options.instance,
    swarmEngine: options.swarmEngine,
    nodesFile: new NodesFile(options.dataDir),
    registryNodeAddress: () => registry!.nodeHost(),
  });
  registry = new Registry({ dataDir: options.dataDir, bin: options.registryBin, port: options.registryPort, address: options.registryAddress, managerAddress: () => managerAddress(cluster) });
  const scheduler = new SwarmScheduler(cluster, {
    instance: options.instance,
    distribute: (tag, onLine) => runtime.pushImageTo(registry!, tag, onLine),
    // Every node pulls the image first.
    startTimeoutSeconds: options.listenTimeoutSeconds + options.buildTimeoutSeconds,
    stopTimeoutSeconds: options.stopTimeoutSeconds,
  });
  return { cluster, registry, schedulers: new AppSchedulers(runtime, scheduler, () => cluster.inUse()) };
}

/** The manager's address in the swarm, which the nodes reach it by. */
async function managerAddress(cluster: SwarmCluster): Promise<string> {
  const info = (await cluster.manager.info()) as { Swarm?: { NodeAddr?: string } };
  return info.Swarm?.NodeAddr ?? '';
}
