import { API } from '../../model/api.js';
import type { SwarmNode } from '../../model/nodes.js';
import type { Command, CommandGroup } from '../command.js';
import { formatTable, orDash } from '../format.js';
import { show, streamed } from '../output.js';

/** NAME ADDRESS ROLE STATE AVAILABILITY CONTAINERS ENGINE: nodes:list, and the Nodes block of berth status. */
export function nodesTable(nodes: SwarmNode[]): string {
  return formatTable(
    ['NAME', 'ADDRESS', 'ROLE', 'STATE', 'AVAILABILITY', 'CONTAINERS', 'ENGINE'],
    nodes.map((node) => [node.name, orDash(node.address), node.role, node.state, node.availability, String(node.containers), orDash(node.engine)]),
  );
}

function nodeLine(node: SwarmNode): string {
  return `${node.name} (${node.address || 'no address'}): ${node.role}, ${node.state}, ${node.availability}`;
}

const list: Command = {
  name: 'nodes:list',
  args: [],
  summary: 'list the nodes of berth\'s swarm, with how many of berth\'s containers run on each',
  example: 'berth nodes:list',
  async run(invocation) {
    const result = await invocation.client().call(API.nodes, {});
    show(invocation, result, ({ nodes }) => (nodes.length ? nodesTable(nodes) : 'No swarm yet: berth nodes:add ENGINE makes one'));
  },
};

const add: Command = {
  name: 'nodes:add',
  args: ['ENGINE'],
  summary: 'join the host whose Docker engine is ENGINE (ssh://USER@HOST, tcp://HOST:2376, unix:///PATH) to berth\'s swarm',
  example: 'berth nodes:add ssh://root@10.0.0.5',
  async run(invocation) {
    const result = await streamed(invocation, API.addNode, {}, { engine: invocation.args[0] });
    show(invocation, result, ({ node }) => `Added ${nodeLine(node)}`);
  },
};

function nodeCommand(name: string, summary: string, run: Command['run']): Command {
  return { name, args: ['NODE'], summary, example: `berth ${name} berth-node2`, run };
}

export const NODES: CommandGroup = {
  title: 'Nodes (swarm)',
  commands: [
    list,
    add,
    nodeCommand('nodes:drain', 'move the containers off a node and place no new ones there (nodes:activate undoes it)', async (invocation) => {
      const result = await streamed(invocation, API.drainNode, { node: invocation.args[0] }, undefined);
      show(invocation, result, ({ node }) => `Drained ${nodeLine(node)}`);
    }),
    nodeCommand('nodes:activate', 'let a drained or paused node take containers again', async (invocation) => {
      const result = await invocation.client().call(API.activateNode, { node: invocation.args[0] });
      show(invocation, result, ({ node }) => `Activated ${nodeLine(node)}`);
    }),
    nodeCommand('nodes:remove', 'drain a worker node, make it leave the swarm and forget it', async (invocation) => {
      const result = await streamed(invocation, API.removeNode, { node: invocation.args[0] }, undefined);
      show(invocation, result, ({ removed }) => `Removed ${removed.name} from berth's swarm`);
    }),
  ],
};
