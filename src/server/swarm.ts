import { ConflictError } from '../errors.js';
import { SwarmCluster } from '../runtime/swarm/cluster.js';
import { NodesFile } from '../store/nodes.js';
import type { ServeOptions } from './options.js';

/** berth's swarm as serve's options give it: the manager of --swarm-engine (else the local engine) and DATA_DIR/nodes.json. */
export function connectCluster(options: ServeOptions): Promise<SwarmCluster> {
  return SwarmCluster.connect({
    dataDir: options.dataDir,
    instance: options.instance,
    swarmEngine: options.swarmEngine,
    nodesFile: new NodesFile(options.dataDir),
    registryNodeAddress: () => registryNodeAddress(options),
  });
}

/**
 * HOST:PORT the nodes pull berth's images from. Until the registry lands (src/runtime/swarm/registry.ts,
 * whose localAddressToward gives this host's address toward the manager), only --registry-address.
 */
async function registryNodeAddress(options: ServeOptions): Promise<string> {
  const given = options.registryAddress;
  if (given) return /^(\[[^\]]+\]|[^:]+):\d+$/.test(given) ? given : `${given}:${options.registryPort}`;
  throw new ConflictError('berth does not know the address its swarm nodes reach its registry at', 'start berth serve with --registry-address HOST[:PORT] (this host\'s address as the nodes see it)');
}
