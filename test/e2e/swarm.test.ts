import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { request } from 'undici';
import { pushedApp, type AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { freePort } from '../support/ports.js';
import { berthCli, berthJson, berthOk } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { startLab, type Lab } from '../support/lab.js';
import { startLoad, type LoadResult } from '../support/load.js';
import { recordReliability } from '../support/reliability.js';
import type { SwarmNode } from '../../src/model/nodes.js';

const docker = new Docker();
const APP = 'fleet';
const HOST = `${APP}.localhost`;
const NODES = 3;

/** Which container answers: the sample app tells its HOSTNAME. */
async function answeredBy(port: number): Promise<string> {
  return (await (await request(`http://127.0.0.1:${port}/env/HOSTNAME`, { headers: { host: HOST } })).body.text()).trim();
}

async function body(port: number): Promise<string> {
  return (await (await request(`http://127.0.0.1:${port}/`, { headers: { host: HOST } })).body.text()).trim();
}

/** The services of this berth on the swarm, and on which nodes their running tasks are. */
async function services(lab: Lab, instance: string): Promise<Map<string, string[]>> {
  const manager = lab.engine(1);
  const list = await manager.listServices({ filters: { label: [`berth.instance=${instance}`] } });
  const nodes = new Map((await manager.listNodes()).map((n: { ID: string; Description?: { Hostname?: string } }) => [n.ID, n.Description?.Hostname ?? n.ID]));
  const placed = new Map<string, string[]>();
  for (const service of list) {
    const tasks = await manager.listTasks({ filters: { service: [service.ID], 'desired-state': ['running'] } });
    placed.set(service.Spec!.Name!, tasks.filter((t: { Status?: { State?: string } }) => t.Status?.State === 'running').map((t: { NodeID?: string }) => nodes.get(t.NodeID ?? '') ?? '').sort());
  }
  return placed;
}

function underLoad(port: number, host = HOST): () => Promise<[string, LoadResult][]> {
  const loads: [string, ReturnType<typeof startLoad>][] = [
    ['GET keep-alive', startLoad({ port, host, connections: 4, method: 'GET', keepAlive: true })],
    ['POST keep-alive', startLoad({ port, host, connections: 2, method: 'POST', keepAlive: true, bodyBytes: 4096 })],
  ];
  return () => Promise.all(loads.map(async ([name, load]) => [name, await load.stop()] as [string, LoadResult]));
}

function failuresOf(results: [string, LoadResult][]): string[] {
  return results.flatMap(([name, result]) => result.failures.map((f) => `${name}: ${f.kind}`));
}

function servedBy(results: [string, LoadResult][]): number {
  return results.reduce((sum, [, r]) => sum + r.ok, 0);
}

describe('swarm: one git push deploys across the nodes of a real swarm (npm run lab)', () => {
  let lab: Lab;
  let berth: BerthInstance;
  let repo: AppRepo;
  let registryPort: string;

  before(async () => {
    await ensureTestBaseImage();
    lab = await startLab(NODES, '1');
    registryPort = String(await freePort());
    berth = await startBerth({ args: ['--swarm-engine', lab.engines[0], '--registry-port', registryPort, '--scheduler', 'swarm'] });
  });
  after(async () => {
    await berth?.destroy();
    await repo?.remove();
    await lab?.down();
  });

  test('nodes:add joins each lab engine; nodes:list shows them ready', async () => {
    for (const engine of lab.engines) await berthOk(berth, ['nodes:add', engine]);
    const { nodes } = await berthJson<{ nodes: SwarmNode[] }>(berth, ['nodes:list']);
    assert.equal(nodes.length, NODES);
    assert.ok(nodes.every((n) => n.state === 'ready' && n.availability === 'active'), JSON.stringify(nodes));
  });

  test('a push of an app scaled to web=3 builds once and serves from three containers on three nodes', async () => {
    repo = await pushedApp(berth.remote(APP), { 'version.txt': 'v1\n' });
    const scale = await berthCli(berth, ['ps:scale', APP, 'web=3']);
    assert.equal(scale.code, 0, scale.stdout + scale.stderr);
    assert.match(scale.stdout + scale.stderr, /on the swarm/);
    const placed = await services(lab, berth.instance);
    assert.equal(placed.size, 1, JSON.stringify([...placed]));
    const [nodesOfWeb] = [...placed.values()];
    assert.equal(new Set(nodesOfWeb).size, 3, `web runs on ${nodesOfWeb.join(', ')}`);
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 3; i++) seen.add(await answeredBy(berth.httpPort));
    assert.equal(seen.size, 3, `answers came from ${[...seen].join(', ')}`);
    assert.match(await body(berth.httpPort), /^Hello from v1/);
  });

  test('a deploy under keep-alive GET and POST load loses nothing; the old service drains and goes', async () => {
    const stop = underLoad(berth.httpPort);
    await repo.commit({ 'version.txt': 'v2\n' }, 'v2');
    const push = await repo.push(berth.remote(APP));
    const results = await stop();
    assert.equal(push.code, 0, push.output);
    assert.match(push.output, /Container .* on berth-l\dn\d at 10\.213\.\d\.1\d:\d+/);
    assert.match(push.output, /Stopped and removed the service/);
    const failures = failuresOf(results);
    await recordReliability({ area: 'Swarm', fault: 'a deploy of a swarm app (web=3 over three lab nodes) under keep-alive GET and POST load', berthDid: 'started the new service beside the old one, checked every task on its node, switched the edge to all of them, drained and removed the old service', served: servedBy(results), lost: failures.length });
    assert.deepEqual(failures, []);
    assert.match(await body(berth.httpPort), /^Hello from v2/);
    assert.equal((await services(lab, berth.instance)).size, 1);
  });

  test('a release that fails its checks fails the push and is removed from every node; the old one keeps serving', async () => {
    await repo.commit({ 'version.txt': 'v3\n', CHECKS: 'ATTEMPTS=1\n/ Goodbye\n' }, 'v3 fails its checks');
    const push = await repo.push(berth.remote(APP));
    assert.notEqual(push.code, 0, push.output);
    assert.match(push.output, /failed at the check stage/);
    const placed = await services(lab, berth.instance);
    assert.equal(placed.size, 1, JSON.stringify([...placed]));
    assert.match(await body(berth.httpPort), /^Hello from v2/);
    await repo.commit({ CHECKS: null }, 'back to the default checks');
  });

  test('nodes:drain moves the node\'s containers elsewhere under load and loses nothing', async () => {
    const stop = underLoad(berth.httpPort);
    const drain = await berthCli(berth, ['nodes:drain', 'berth-l' + lab.number + 'n3']);
    const results = await stop();
    assert.equal(drain.code, 0, drain.stdout + drain.stderr);
    const failures = failuresOf(results);
    await recordReliability({ area: 'Swarm', fault: 'nodes:drain of a node running a web container of a swarm app, under keep-alive GET and POST load', berthDid: 'paused the node, deployed the app again on the other nodes (checked, switched, the old service drained), then drained the node', served: servedBy(results), lost: failures.length });
    assert.deepEqual(failures, []);
    const [nodesOfWeb] = [...(await services(lab, berth.instance)).values()];
    assert.ok(!nodesOfWeb.includes(`berth-l${lab.number}n3`), `web still runs on ${nodesOfWeb.join(', ')}`);
    assert.equal(nodesOfWeb.length, 3);
    await berthOk(berth, ['nodes:activate', `berth-l${lab.number}n3`]);
  });

  test('berth SIGKILLed during a swarm deploy: on restart it reconciles from the services and their labels, and loses nothing', async () => {
    const args = ['--swarm-engine', lab.engines[0], '--registry-port', registryPort, '--scheduler', 'swarm'];
    const stop = underLoad(berth.httpPort);
    await repo.commit({ 'version.txt': 'v4\n' }, 'v4 (berth killed during its check stage)');
    let killed = false;
    const push = await repo.push(berth.remote(APP), 'main', (output) => {
      if (!killed && /Checking fleet \(release/.test(output)) {
        killed = true;
        process.kill(berth.pid, 'SIGKILL');
      }
    });
    assert.ok(killed, push.output);
    assert.notEqual(push.code, 0, push.output);
    berth = await startBerth({ dataDir: berth.dataDir, instance: berth.instance, httpPort: berth.httpPort, httpsPort: berth.httpsPort, gitPort: berth.gitPort, args });
    const results = await stop();
    const failures = failuresOf(results);
    await recordReliability({ area: 'Swarm', fault: 'berth SIGKILLed during the check stage of a swarm deploy, then started again, under keep-alive GET and POST load', berthDid: 'the edge kept serving the live service meanwhile; on restart berth marked the release failed and removed its service, found from the services\' labels', served: servedBy(results), lost: failures.length });
    assert.deepEqual(failures, []);
    const placed = await services(lab, berth.instance);
    assert.equal(placed.size, 1, JSON.stringify([...placed]));
    assert.match(await body(berth.httpPort), /^Hello from v2/);
    const again = await repo.push(berth.remote(APP));
    assert.equal(again.code, 0, again.output);
    assert.match(await body(berth.httpPort), /^Hello from v4/);
  });

  test('at start berth removes the swarm services of an app it does not know (an apps:destroy cut short)', async () => {
    const labels = { 'berth.instance': berth.instance, 'berth.app': 'ghost', 'berth.release': '1', 'berth.process': 'web' };
    const [live] = await lab.engine(1).listServices({ filters: { label: [`berth.instance=${berth.instance}`] } });
    const image = (live.Spec!.TaskTemplate as { ContainerSpec: { Image: string } }).ContainerSpec.Image;
    await lab.engine(1).createService({ Name: `${berth.instance}_ghost_web_1`, Labels: labels, TaskTemplate: { ContainerSpec: { Image: image, Labels: labels } }, Mode: { Replicated: { Replicas: 1 } } } as never);
    await berth.stopServer();
    berth = await startBerth({ dataDir: berth.dataDir, instance: berth.instance, httpPort: berth.httpPort, httpsPort: berth.httpsPort, gitPort: berth.gitPort, args: ['--swarm-engine', lab.engines[0], '--registry-port', registryPort, '--scheduler', 'swarm'] });
    assert.match(berth.output(), /removed 1 swarm service\(s\) of apps that no longer exist: .*_ghost_web_1/);
    assert.deepEqual([...(await services(lab, berth.instance)).keys()].filter((name) => name.includes('ghost')), []);
    assert.match(await body(berth.httpPort), /^Hello from v4/);
  });

  test('a node that dies: berth stops routing to it, Swarm places replacements, berth checks them before routing; what was lost is measured', async () => {
    // Spread over all three nodes again.
    await berthOk(berth, ['ps:restart', APP]);
    const stop = underLoad(berth.httpPort);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const killedAt = Date.now();
    await lab.kill(2);
    const deadline = Date.now() + 90_000;
    let placed = await services(lab, berth.instance);
    while (Date.now() < deadline && ([...placed.values()][0] ?? []).filter((n) => n !== `berth-l${lab.number}n2`).length < 3) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      placed = await services(lab, berth.instance);
    }
    // Until berth has checked and routed the replacement.
    const routedDeadline = Date.now() + 60_000;
    while (Date.now() < routedDeadline && !/passed its checks; the edge routes to it/.test(berth.output())) await new Promise((resolve) => setTimeout(resolve, 500));
    const results = await stop();
    const failures = failuresOf(results);
    assert.match(berth.output(), /stopped running on the swarm/);
    assert.match(berth.output(), /placed by Swarm for release \d+ .* passed its checks; the edge routes to it/);
    await recordReliability({ area: 'Swarm', fault: 'a node of a swarm app dies (every process of it SIGKILLed: engine, containers) under keep-alive GET and POST load', berthDid: `the edge retried connections the dead node refused on the other nodes; berth unrouted its container once the manager reported it gone, and routed Swarm's replacement after its checks passed (${((Date.now() - killedAt) / 1000).toFixed(0)} s after the kill)`, served: servedBy(results), lost: failures.length });
    // The floor is what was in flight on the dead node: a few requests at most.
    assert.ok(failures.length <= 6, `lost ${failures.length}: ${failures.join(', ')}`);
    assert.match(await body(berth.httpPort), /^Hello from v4/);
  });

  test('berth logs reads every container, on every node', async () => {
    const logs = await berthOk(berth, ['logs', APP, '-n', '5']);
    const containers = new Set([...logs.matchAll(/^(\S+_web_\d+\.\d+)\|/gm)].map((m) => m[1]));
    assert.equal(containers.size, 3, logs);
    assert.match(logs, /v4 listening on 5000/);
  });

  test('ps:scale and a rollback of a swarm app under load lose nothing', async () => {
    const stop = underLoad(berth.httpPort);
    const scaled = await berthCli(berth, ['ps:scale', APP, 'web=4']);
    const rolled = await berthCli(berth, ['rollback', APP]);
    const results = await stop();
    assert.equal(scaled.code, 0, scaled.stdout + scaled.stderr);
    assert.equal(rolled.code, 0, rolled.stdout + rolled.stderr);
    const failures = failuresOf(results);
    await recordReliability({ area: 'Swarm', fault: 'ps:scale web=3 to web=4, then a rollback, of a swarm app under keep-alive GET and POST load', berthDid: 'each a release of its own: a new service beside the old one, every task checked, switched, the old service drained and removed', served: servedBy(results), lost: failures.length });
    assert.deepEqual(failures, []);
    const [nodesOfWeb] = [...(await services(lab, berth.instance)).values()];
    assert.equal(nodesOfWeb.length, 4);
    assert.match(await body(berth.httpPort), /^Hello from v2/);
  });

  test('scheduler:set moves a live app from the local engine to the swarm and back under load, losing nothing', async () => {
    const mover = 'mover';
    await berthOk(berth, ['apps:create', mover]);
    await berthOk(berth, ['scheduler:set', mover, 'local']);
    const moverRepo = await pushedApp(berth.remote(mover), { 'version.txt': 'm1\n' });
    try {
      const localContainers = () => docker.listContainers({ filters: { label: [`berth.instance=${berth.instance}`, `berth.app=${mover}`] } });
      assert.equal((await localContainers()).length, 1);
      const stop = underLoad(berth.httpPort, `${mover}.localhost`);
      const there = await berthCli(berth, ['scheduler:set', mover, 'swarm']);
      const onSwarm = { services: [...(await services(lab, berth.instance)).keys()].filter((name) => name.includes(`_${mover}_`)), local: (await localContainers()).length };
      const back = await berthCli(berth, ['scheduler:set', mover, 'local']);
      const results = await stop();
      assert.equal(there.code, 0, there.stdout + there.stderr);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.match(there.stdout + there.stderr, /Starting mover web \(release 2, on the swarm\)/);
      assert.deepEqual(onSwarm, { services: [`${berth.instance}_${mover}_web_2`], local: 0 });
      assert.deepEqual([...(await services(lab, berth.instance)).keys()].filter((name) => name.includes(`_${mover}_`)), []);
      assert.equal((await localContainers()).length, 1);
      const failures = failuresOf(results);
      await recordReliability({ area: 'Swarm', fault: 'scheduler:set of a live app from the local engine to the swarm and back, under keep-alive GET and POST load', berthDid: 'each move a release: started where the app goes, checked, switched, and the containers where it ran drained and removed', served: servedBy(results), lost: failures.length });
      assert.deepEqual(failures, []);
    } finally {
      await moverRepo.remove();
    }
  });
});
