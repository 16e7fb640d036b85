/**
 * The nodes of berth's swarm as the server reports them and the CLI shows them (berth nodes:*).
 */
export const NODE_STATES = ['ready', 'down', 'disconnected', 'unknown'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** active: takes tasks; pause: keeps its tasks, takes no new ones; drain: its tasks move elsewhere. */
export const NODE_AVAILABILITIES = ['active', 'pause', 'drain'] as const;
export type NodeAvailability = (typeof NODE_AVAILABILITIES)[number];

export interface SwarmNode {
  id: string;
  /** The host name its engine reports. */
  name: string;
  /** Where the node is reached (the manager's Status.Addr): the edge routes to its published ports there. */
  address: string;
  role: 'manager' | 'worker';
  state: NodeState;
  availability: NodeAvailability;
  /** Running tasks of this berth instance's services on it. */
  containers: number;
  /** The engine URL berth reaches it by (nodes:add, or --swarm-engine for the manager); null when berth has none. */
  engine: string | null;
}
