import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ConflictError, InputError, UsageError } from '../../src/errors.js';
import { resolveServeOptions } from '../../src/server/options.js';
import { SwarmCluster, swarmNode } from '../../src/runtime/swarm/cluster.js';
import { engineFromUrl, parseEngineUrl } from '../../src/runtime/swarm/engines.js';
import { membership, refuseLiveRestore, trustsRegistry } from '../../src/runtime/swarm/node-checks.js';
import { NodesFile } from '../../src/store/nodes.js';

test('engine URLs: a socket path, unix://, tcp://HOST:PORT and ssh://USER@HOST; anything else is refused with the forms', () => {
  assert.deepEqual(parseEngineUrl('/run/docker.sock'), { kind: 'unix', socketPath: '/run/docker.sock' });
  assert.deepEqual(parseEngineUrl('unix:///var/run/docker.sock'), { kind: 'unix', socketPath: '/var/run/docker.sock' });
  assert.deepEqual(parseEngineUrl('tcp://10.0.0.5:2376'), { kind: 'tcp', host: '10.0.0.5', port: 2376 });
  assert.deepEqual(parseEngineUrl('ssh://deploy@host.example:2222'), { kind: 'ssh', host: 'host.example', port: 2222, username: 'deploy' });
  assert.deepEqual(parseEngineUrl('ssh://10.0.0.5'), { kind: 'ssh', host: '10.0.0.5', port: 22, username: undefined });
  for (const bad of ['ftp://x', 'docker.sock', 'tcp://10.0.0.5', 'unix://host/sock', 'unix://', 'ssh://', '']) {
    assert.throws(() => parseEngineUrl(bad), (error: Error) => error instanceof InputError && /unix:|tcp:|ssh:/.test(`${error.message} ${(error as InputError).hint}`), bad);
  }
});

test('tcp:// only with TLS: without ca.pem, cert.pem and key.pem berth says where to put them', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-nodes-'));
  const saved = process.env.DOCKER_CERT_PATH;
  delete process.env.DOCKER_CERT_PATH;
  try {
    assert.throws(() => engineFromUrl('tcp://10.0.0.5:2376', dataDir), (error: InputError) => /needs TLS/.test(error.message) && error.hint!.includes(path.join(dataDir, 'nodes', 'tls', '10.0.0.5')));
    await fs.mkdir(path.join(dataDir, 'nodes', 'tls', '10.0.0.5'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'nodes', 'tls', '10.0.0.5', 'ca.pem'), 'x');
    assert.throws(() => engineFromUrl('tcp://10.0.0.5:2376', dataDir), /has no cert\.pem, key\.pem/);
  } finally {
    if (saved !== undefined) process.env.DOCKER_CERT_PATH = saved;
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});

test('the registry is trusted by name in IndexConfigs or by an insecure subnet holding its IP, never by a hostname alone', () => {
  const config = (IndexConfigs: Record<string, { Secure: boolean }>, InsecureRegistryCIDRs: string[]) => ({ RegistryConfig: { IndexConfigs, InsecureRegistryCIDRs } });
  assert.equal(trustsRegistry(config({}, ['127.0.0.0/8', '10.213.3.0/24']), '10.213.3.1:5000'), true);
  assert.equal(trustsRegistry(config({}, ['127.0.0.0/8']), '10.213.3.1:5000'), false);
  assert.equal(trustsRegistry(config({ 'reg.lan:5000': { Secure: false } }, []), 'reg.lan:5000'), true);
  assert.equal(trustsRegistry(config({ 'reg.lan:5000': { Secure: true } }, ['0.0.0.0/0']), 'reg.lan:5000'), false);
  assert.equal(trustsRegistry(config({}, ['0.0.0.0/0']), 'reg.lan:5000'), false);
  assert.equal(trustsRegistry({}, '10.0.0.1:5000'), false);
});

test('membership: in no swarm joins, in berth\'s is a member, another swarm or a half state is refused', () => {
  const members = new Set(['n1', 'n2']);
  assert.equal(membership({ Swarm: { LocalNodeState: 'inactive' } }, 'e', members), 'join');
  assert.equal(membership({ Swarm: { LocalNodeState: 'active', NodeID: 'n2' } }, 'e', members), 'member');
  assert.throws(() => membership({ Swarm: { LocalNodeState: 'active', NodeID: 'other' } }, 'e', members), (error: Error) => error instanceof ConflictError && /another swarm/.test(error.message));
  assert.throws(() => membership({ Swarm: { LocalNodeState: 'pending' } }, 'e', members), /swarm state "pending"/);
  assert.throws(() => refuseLiveRestore({ LiveRestoreEnabled: true }, 'unix:///var/run/docker.sock', 'manager'), (error: ConflictError) => /--swarm-engine/.test(error.hint!));
  assert.doesNotThrow(() => refuseLiveRestore({ LiveRestoreEnabled: false }, 'e', 'node'));
});

test('a manager that reports 0.0.0.0 is shown at its ManagerStatus address', () => {
  const node = swarmNode({ ID: 'abc', Description: { Hostname: 'm1' }, Spec: { Role: 'manager', Availability: 'active' }, Status: { State: 'ready', Addr: '0.0.0.0' }, ManagerStatus: { Addr: '10.0.0.1:2377' } }, 2, null);
  assert.deepEqual(node, { id: 'abc', name: 'm1', address: '10.0.0.1', role: 'manager', state: 'ready', availability: 'active', containers: 2, engine: null });
});

/** A manager engine's API on a unix socket: two nodes, the worker running one of berth's tasks; it records each availability set. */
async function fakeManager(socketPath: string, availabilities: string[]): Promise<http.Server> {
  const nodes = [
    { ID: 'm1', Version: { Index: 1 }, Description: { Hostname: 'm1' }, Spec: { Role: 'manager', Availability: 'active' }, Status: { State: 'ready', Addr: '10.0.0.1' } },
    { ID: 'w1', Version: { Index: 1 }, Description: { Hostname: 'w1' }, Spec: { Role: 'worker', Availability: 'active' }, Status: { State: 'ready', Addr: '10.0.0.2' } },
  ];
  const answers: Record<string, () => unknown> = {
    '/info': () => ({ Swarm: { LocalNodeState: 'active', ControlAvailable: true, NodeID: 'm1' } }),
    '/nodes': () => nodes,
    '/services': () => [{ ID: 's1' }],
    '/tasks': () => [{ NodeID: 'w1', Status: { State: 'running' } }],
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://engine');
    let body = '';
    for await (const chunk of req) body += chunk;
    const node = nodes.find((candidate) => url.pathname.startsWith(`/nodes/${candidate.ID}`));
    if (node && url.pathname.endsWith('/update')) {
      node.Spec = JSON.parse(body) as typeof node.Spec;
      node.Version.Index += 1;
      availabilities.push(node.Spec.Availability);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(node && !url.pathname.endsWith('/update') ? node : (answers[url.pathname]?.() ?? {})));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}

test('drain: pause, then the hook, then drain; a hook that fails puts the node back as it was', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-nodes-'));
  const availabilities: string[] = [];
  const server = await fakeManager(path.join(dir, 'docker.sock'), availabilities);
  try {
    const cluster = await SwarmCluster.connect({ dataDir: dir, instance: 'test', swarmEngine: `unix://${dir}/docker.sock`, nodesFile: new NodesFile(dir), registryNodeAddress: async () => '10.0.0.1:5000' });
    assert.deepEqual((await cluster.nodes()).map((node) => [node.name, node.containers]), [['m1', 0], ['w1', 1]]);
    const seen: string[] = [];
    const drained = await cluster.drain('w1', { beforeDrain: async (node) => void seen.push(`hook saw ${availabilities.at(-1)} on ${node.name}`) });
    assert.deepEqual(seen, ['hook saw pause on w1']);
    assert.deepEqual(availabilities, ['pause', 'drain']);
    assert.equal(drained.availability, 'drain');
    await cluster.setAvailability('w1', 'active');
    availabilities.length = 0;
    await assert.rejects(cluster.drain('w1', { beforeDrain: async () => Promise.reject(new Error('a redeploy failed')) }), /a redeploy failed/);
    assert.deepEqual(availabilities, ['pause', 'active']);
    assert.equal(cluster.engineOf('m1'), cluster.manager);
    assert.equal(cluster.engineOf('w1'), undefined);
  } finally {
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('drain refuses to stop containers when no other node is ready and active to take them', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-nodes-'));
  const availabilities: string[] = [];
  const server = await fakeManager(path.join(dir, 'docker.sock'), availabilities);
  try {
    const cluster = await SwarmCluster.connect({ dataDir: dir, instance: 'test', swarmEngine: `${dir}/docker.sock`, nodesFile: new NodesFile(dir), registryNodeAddress: async () => '10.0.0.1:5000' });
    await cluster.setAvailability('m1', 'drain');
    availabilities.length = 0;
    await assert.rejects(cluster.drain('w1'), (error: Error) => error instanceof ConflictError && /would stop its 1 container/.test(error.message));
    assert.deepEqual(availabilities, []);
  } finally {
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('berth serve refuses a --swarm-engine that is no engine URL at start, and takes the three forms', () => {
  assert.throws(() => resolveServeOptions(['--swarm-engine', 'ftp://manager'], {}), (error: Error) => error instanceof UsageError && /^--swarm-engine: "ftp:\/\/manager" is not an engine URL/.test(error.message));
  assert.throws(() => resolveServeOptions([], { BERTH_SWARM_ENGINE: 'tcp://manager' }), /needs a host and a port/);
  for (const url of ['unix:///run/docker.sock', 'tcp://10.0.0.1:2376', 'ssh://root@10.0.0.1']) assert.equal(resolveServeOptions(['--swarm-engine', url], {}).swarmEngine, url);
});
