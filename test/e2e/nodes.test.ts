import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pushedApp, type AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, berthJson } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { startLab, type Lab } from '../support/lab.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import type { StatusInfo } from '../../src/model/api.js';
import type { SwarmNode } from '../../src/model/nodes.js';

const APP = 'steady';
const LOCAL_ENGINE = 'unix:///var/run/docker.sock';

/** berth nodes:* against a lab of three engines (its own BERTH_LAB), with berth's swarm manager the lab's node 1. */
describe('berth nodes: a swarm of lab engines', () => {
  let lab: Lab;
  let berth: BerthInstance;
  let repo: AppRepo;
  const nodes = async () => (await berthJson<{ nodes: SwarmNode[] }>(berth, ['nodes:list'])).nodes;
  const byName = async (name: string) => (await nodes()).find((node) => node.name === name);

  before(async () => {
    await ensureTestBaseImage();
    lab = await startLab(3, '3');
    // Node 3 leaves the swarm the lab formed, so nodes:add has one engine to join itself.
    await lab.engine(3).swarmLeave({ force: true }).catch(() => undefined);
    const manager = lab.engine(1);
    for (const node of await manager.listNodes()) if (node.Description.Hostname === `berth-l${lab.number}n3`) await manager.getNode(node.ID).remove({ force: true });
    berth = await startBerth({ args: ['--swarm-engine', lab.engines[0], '--registry-address', `${lab.hostAddress}:5000`] });
    // A local app that serves throughout: nothing done to the nodes may touch it.
    repo = await pushedApp(berth.remote(APP));
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
    await lab?.down();
  });

  /** Runs `attempt` under load on the live local app; it must fail with `pattern` and leave the nodes as they were. */
  async function refused(fault: string, args: string[], pattern: RegExp, berthDid: string): Promise<void> {
    const before = await nodes();
    const watched = await whileServing({ httpPort: berth.httpPort, host: `${APP}.localhost` }, () => berthCli(berth, args));
    assert.notEqual(watched.result.code, 0, `${fault}: accepted\n${watched.result.stdout}`);
    assert.match(watched.result.stderr, pattern);
    assert.deepEqual(await nodes(), before, `${fault}: the nodes changed`);
    await recordReliability({ area: 'Hostile and broken input', fault, berthDid, served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
  }

  test('nodes:add refuses a bad URL, an engine it cannot reach and one with live-restore, changing nothing', async () => {
    await refused('berth nodes:add with a URL that is no engine URL', ['nodes:add', 'ftp://10.0.0.5'], /"ftp:\/\/10.0.0.5" is not an engine URL berth can reach[\s\S]*ssh:\/\/USER@HOST/, 'refused it with the forms it takes (unix://, tcp:// with TLS, ssh://); nothing changed');
    await refused('berth nodes:add tcp://HOST:2376 without a client certificate', ['nodes:add', 'tcp://10.0.0.5:2376'], /needs TLS[\s\S]*DOCKER_CERT_PATH/, 'refused it before connecting: plain TCP would hand root on that host to the network');
    await refused('berth nodes:add of an engine that does not answer', ['nodes:add', 'unix:///nonexistent/docker.sock'], /cannot reach the engine at unix:\/\/\/nonexistent\/docker.sock/, 'said it cannot reach it and what to check; nothing changed');
    await refused(
      'berth nodes:add of an engine with live-restore (berth\'s local one)',
      ['nodes:add', LOCAL_ENGINE],
      /runs with live-restore: Docker refuses swarm mode with live-restore[\s\S]*remove "live-restore" from that host's \/etc\/docker\/daemon.json/,
      'refused it, saying swarm mode and live-restore do not go together and what to change; nothing changed',
    );
  });

  test('nodes:add accepts the engines already in berth\'s swarm and joins the one that is in none', async () => {
    for (const engine of lab.engines) {
      const added = await berthCli(berth, ['nodes:add', engine]);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, engine === lab.engines[2] ? /joined berth's swarm/ : /is in berth's swarm already/);
    }
    const list = await nodes();
    assert.deepEqual(list.map((node) => node.name).sort(), [1, 2, 3].map((n) => `berth-l${lab.number}n${n}`));
    for (const [i, engine] of lab.engines.entries()) {
      const node = list.find((candidate) => candidate.name === `berth-l${lab.number}n${i + 1}`)!;
      assert.deepEqual({ engine: node.engine, state: node.state, availability: node.availability, address: node.address }, { engine, state: 'ready', availability: 'active', address: `10.213.${lab.number}.${11 + i}` });
    }
    assert.equal(list.filter((node) => node.role === 'manager').length, 1);
    const table = await berthCli(berth, ['nodes:list']);
    assert.match(table.stdout, /NAME\s+ADDRESS\s+ROLE\s+STATE\s+AVAILABILITY\s+CONTAINERS\s+ENGINE/);
    const status = await berthJson<StatusInfo>(berth, ['status']);
    assert.equal(status.swarm?.nodes.length, 3);
    assert.match((await berthCli(berth, ['status'])).stdout, /Nodes \(swarm manager unix:\/\/.*berth-l\dn1/);
  });

  test('nodes:drain and nodes:activate, by name; an unknown node is not found', async () => {
    const name = `berth-l${lab.number}n2`;
    const drained = await berthCli(berth, ['nodes:drain', name]);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /paused[\s\S]*drained/);
    assert.equal((await byName(name))?.availability, 'drain');
    assert.equal((await berthCli(berth, ['nodes:activate', name])).code, 0);
    assert.equal((await byName(name))?.availability, 'active');
    const unknown = await berthCli(berth, ['nodes:drain', 'no-such-node']);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /no node named no-such-node/);
  });

  test('nodes:remove refuses the manager; a worker is drained, leaves the swarm and is gone', async () => {
    await refused('berth nodes:remove of the swarm manager', ['nodes:remove', `berth-l${lab.number}n1`], /is a swarm manager: berth removes workers only/, 'refused it: the manager is where berth runs its swarm from');
    const name = `berth-l${lab.number}n3`;
    const removed = await berthCli(berth, ['nodes:remove', name]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /drained[\s\S]*left the swarm/);
    assert.equal(await byName(name), undefined);
    assert.equal((await lab.engine(3).info()).Swarm.LocalNodeState, 'inactive');
  });
});

describe('berth nodes without --swarm-engine: the local engine, with live-restore, is the manager', () => {
  let lab: Lab;
  let berth: BerthInstance;

  before(async () => {
    lab = await startLab(1, '3');
    berth = await startBerth({ args: ['--registry-address', `${lab.hostAddress}:5000`] });
  });

  after(async () => {
    await berth?.destroy();
    await lab?.down();
  });

  test('nodes:add says the manager runs with live-restore and to give --swarm-engine; status shows no swarm', async () => {
    const added = await berthCli(berth, ['nodes:add', lab.engines[0]]);
    assert.notEqual(added.code, 0);
    assert.match(added.stderr, /berth's swarm manager, the engine at unix:\/\/\/var\/run\/docker.sock, runs with live-restore[\s\S]*--swarm-engine URL/);
    assert.equal((await berthJson<StatusInfo>(berth, ['status'])).swarm, null);
    assert.equal((await berthJson<{ nodes: SwarmNode[] }>(berth, ['nodes:list'])).nodes.length, 0);
  });
});
