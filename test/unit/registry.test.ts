import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BerthError, UsageError } from '../../src/errors.js';
import { parseRegistryAddress, registryHostPort, splitImageTag } from '../../src/model/registry.js';
import { localAddressToward, Registry, renderRegistryConfig } from '../../src/runtime/swarm/registry.js';
import { resolveServeOptions } from '../../src/server/options.js';


test('--registry-address takes HOST or HOST:PORT, an IPv6 address bare or in brackets with a port', () => {
  assert.deepEqual(parseRegistryAddress('10.0.0.5'), { host: '10.0.0.5', port: undefined });
  assert.deepEqual(parseRegistryAddress('registry.internal:5001'), { host: 'registry.internal', port: 5001 });
  assert.deepEqual(parseRegistryAddress('fd00::5'), { host: 'fd00::5', port: undefined });
  assert.deepEqual(parseRegistryAddress('[fd00::5]:5001'), { host: 'fd00::5', port: 5001 });
  for (const bad of ['', 'a:b:c', 'host:0', 'host:70000', 'host:', 'http://host', 'ho st', '-host', '[nohost]:5000', 'host/path']) {
    assert.equal(parseRegistryAddress(bad), undefined, bad);
  }
  assert.throws(() => resolveServeOptions(['--registry-address', 'http://10.0.0.5'], {}), (error: Error) => error instanceof UsageError && /--registry-address "http:\/\/10.0.0.5" is not HOST or HOST:PORT/.test(error.message));
  assert.equal(resolveServeOptions(['--registry-address', '10.0.0.5:5001'], {}).registryAddress, '10.0.0.5:5001');
});

test('the host nodes pull from gets the registry port unless the address has its own; IPv6 goes in brackets', () => {
  assert.equal(registryHostPort({ host: '10.0.0.5', port: undefined }, 5000), '10.0.0.5:5000');
  assert.equal(registryHostPort({ host: 'reg', port: 443 }, 5000), 'reg:443');
  assert.equal(registryHostPort({ host: 'fd00::5', port: undefined }, 5000), '[fd00::5]:5000');
});

test('image tags split into repository and tag', () => {
  assert.deepEqual(splitImageTag('berth/web:12'), { repository: 'berth/web', tag: '12' });
  assert.deepEqual(splitImageTag('127.0.0.1:5000/berth/web'), { repository: '127.0.0.1:5000/berth/web', tag: 'latest' });
});

test('the registry config keeps its storage in the data dir, listens on every interface and allows deletes', () => {
  const config = renderRegistryConfig('/var/lib/berth/registry', 5123);
  assert.match(config, /rootdirectory: "\/var\/lib\/berth\/registry\/data"/);
  assert.match(config, /addr: "0\.0\.0\.0:5123"/);
  assert.match(config, /delete:\n {4}enabled: true/);
});

test('localAddressToward gives this host\'s own address on the route to an address', async () => {
  assert.equal(await localAddressToward('127.0.0.1'), '127.0.0.1');
  assert.equal(await localAddressToward('127.0.0.5'), '127.0.0.1');
});

test('nodeHost: --registry-address wins; otherwise this host\'s address toward the manager; neither is a clear error', async () => {
  const dataDir = '/nonexistent';
  const base = { dataDir, bin: 'docker-registry', port: 5123 };
  assert.equal(await new Registry({ ...base, address: 'reg.internal' }).nodeHost(), 'reg.internal:5123');
  assert.equal(await new Registry({ ...base, address: '10.0.0.5:6000', managerAddress: () => Promise.reject(new Error('not asked')) }).nodeHost(), '10.0.0.5:6000');
  assert.equal(await new Registry({ ...base, address: undefined, managerAddress: async () => '127.0.0.9' }).nodeHost(), '127.0.0.1:5123');
  await assert.rejects(new Registry({ ...base, address: undefined }).nodeHost(), (error: Error) => error instanceof BerthError && /--registry-address/.test((error as BerthError).hint ?? ''));
});

test('ensureRunning says how to install docker-registry when the binary is missing, and starts nothing', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-registry-'));
  try {
    const registry = new Registry({ dataDir, bin: path.join(dataDir, 'no-docker-registry'), port: 1, address: undefined });
    await assert.rejects(registry.ensureRunning(), (error: Error) => error instanceof BerthError && /cannot run .*no-docker-registry/.test(error.message) && /apt-get install docker-registry/.test((error as BerthError).hint ?? ''));
    assert.equal(await registry.isRunning(), false);
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});

test('ensureRunning refuses a port something else listens on, naming the port and --registry-port', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-registry-'));
  const squatter = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as net.AddressInfo).port;
  try {
    const registry = new Registry({ dataDir, bin: '/bin/false', port, address: undefined });
    await assert.rejects(registry.ensureRunning(), (error: Error) => error instanceof BerthError && error.message === `port ${port} is taken, so berth's registry cannot listen on it` && /--registry-port/.test((error as BerthError).hint ?? ''));
  } finally {
    squatter.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});
