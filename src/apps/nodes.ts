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

  /**
   * Between pause (Swarm places nothing new there) and drain (Swarm stops what runs there): each
   * swarm app with a container on the node is deployed again, so its new release starts on the
   * other nodes, is checked and takes the traffic before its old containers drain and go. When
   * Swarm drains the node, nothing of berth's runs there any more, and no request was lost.
   */
  private beforeDrain(output: DeployOutput): (node: SwarmNode) => Promise<void> {
    return async (node) => {
      const { store } = this.operator.deps;
      for (const name of await store.listApps()) {
        const app = await store.getApp(name);
        if (app?.scheduler !== 'swarm' || !app.live?.containers.some((c) => c.node === node.id)) continue;
        output.section(`Moving ${name} off ${node.name}`);
        await this.operator.redeploy(name, `nodes:drain ${node.name}`, output);
      }
    };
  }

  private cluster(): SwarmCluster {
    const cluster = this.operator.deps.cluster;
    if (!cluster) throw new ConflictError('this berth runs no swarm', 'start berth serve with --swarm-engine URL naming a swarm manager');
    return cluster;
  }
}
