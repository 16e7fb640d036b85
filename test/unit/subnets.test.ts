import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerSubnets } from '../../src/runtime/subnets.js';
import { sleep } from '../../src/time.js';

/** The engine's networks as a test sets them, counting how often they were read. */
function engine(subnets: string[]) {
  const state = { subnets, reads: 0, down: false };
  const list = async () => {
    state.reads += 1;
    if (state.down) throw new Error('the engine does not answer');
    return state.subnets;
  };
  return { state, fence: new ContainerSubnets(list) };
}

test('an address on any network of the engine is a container, in IPv4 and IPv6 and as an IPv4-mapped IPv6 address', async () => {
  const { fence } = engine(['172.17.0.0/16', '172.24.0.0/16', 'fd00:dead::/64']);
  for (const address of ['172.17.0.2', '172.24.3.4', '::ffff:172.24.0.9', 'fd00:dead::5']) assert.equal(await fence.contains(address), true, address);
  for (const address of ['192.0.2.2', '10.0.0.1', '::ffff:192.0.2.2', '2001:db8::1', '']) assert.equal(await fence.contains(address), false, address);
});

test('loopback is the host itself, never a container, even when a network claims it', async () => {
  const { fence, state } = engine(['127.0.0.0/8']);
  for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.equal(await fence.contains(address), false, address);
  assert.equal(state.reads, 0, 'no engine call for the host itself');
});

test('an unknown address reads the networks again at most once a second; a network berth makes is seen at once', async () => {
  const { fence, state } = engine(['172.17.0.0/16']);
  assert.equal(await fence.contains('192.0.2.2'), false);
  state.subnets = ['172.17.0.0/16', '172.30.0.0/16'];
  assert.equal(await fence.contains('172.30.0.2'), false, 'read less than a second ago');
  assert.equal(state.reads, 1);
  fence.invalidate();
  assert.equal(await fence.contains('172.30.0.2'), true, 'berth made a network: read again');
  assert.equal(state.reads, 2);
});

test('questions asked at once share one read, and an engine that does not answer leaves the last subnets read', async () => {
  const { fence, state } = engine(['172.17.0.0/16']);
  await Promise.all(['192.0.2.2', '192.0.2.3', '192.0.2.4'].map((address) => fence.contains(address)));
  assert.equal(state.reads, 1);
  state.down = true;
  fence.invalidate();
  assert.equal(await fence.contains('172.17.0.9'), true);
  await sleep(5);
  assert.equal(await fence.contains('192.0.2.2'), false);
});
