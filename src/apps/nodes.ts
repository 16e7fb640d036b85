import { ConflictError } from '../errors.js';
import type { DeployOutput } from '../log/output.js';
import type { SwarmNode } from '../model/nodes.js';
import type { SwarmCluster } from '../runtime/swarm/cluster.js';
import type { AppOperator } from './operator.js';

/** nodes:add, nodes:list, nodes:drain, nodes:activate and nodes:remove: the hosts of berth's swarm. */
export class NodesService {
  constructor(private readonly operator: AppOperator) {}

  list(): Promise<SwarmNode[]> {
    return this.cluster().nodes();
  }

  add(engine: string, output: DeployOutput): Promise<SwarmNode> {
    return this.cluster().add(engine, (line) => output.info(line));
  }

  drain(node: string, output: DeployOutput): Promise<SwarmNode> {
    return this.cluster().drain(node, { beforeDrain: this.beforeDrain(output), say: (line) => output.info(line) });
  }

  activate(node: string): Promise<SwarmNode> {
    return this.cluster().setAvailability(node, 'active');
  }

  remove(node: string, output: DeployOutput): Promise<SwarmNode> {
    return this.cluster().remove(node, { beforeDrain: this.beforeDrain(output), say: (line) => output.info(line) });
  }

  /** What moves the node's apps before Swarm drains it (AppServiceDeps.beforeDrain), with its lines in this output. */
  private beforeDrain(output: DeployOutput): ((node: SwarmNode) => Promise<void>) | undefined {
    const hook = this.operator.deps.beforeDrain;
    return hook && ((node) => hook(node, output));
  }

  private cluster(): SwarmCluster {
    const cluster = this.operator.deps.cluster;
    if (!cluster) throw new ConflictError('this berth runs no swarm', 'start berth serve with --swarm-engine URL naming a swarm manager');
    return cluster;
  }
}
