import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AppLocks, type LockHolder } from '../../src/deploy/lock.js';

const holder = (description: string): LockHolder => ({ description, since: 0 });
const neverWaits = () => assert.fail('the app was free, so nothing should wait');

/** Which of these acquisitions hold the lock by now (a settled promise has run its callbacks after a turn). */
async function granted(order: string[], ...acquisitions: [string, Promise<() => void>][]): Promise<void> {
  for (const [name, acquisition] of acquisitions) void acquisition.then(() => order.push(name));
  await nextTurn();
}

test('one deploy at a time per app: the second waits, learns who holds the app, and gets it on unlock', async () => {
  const locks = new AppLocks();
  const unlockFirst = await locks.acquire('shop', holder('commit aaaaaaa'), neverWaits);
  const waits: [string, number][] = [];
  const order: string[] = [];
  const second = locks.acquire('shop', holder('commit bbbbbbb'), (current, position) => waits.push([current.description, position]));
  await granted(order, ['second', second]);
  assert.deepEqual(order, [], 'the second waits while the first holds the app');
  assert.deepEqual(waits, [['commit aaaaaaa', 1]]);
  unlockFirst();
  await granted(order);
  assert.deepEqual(order, ['second']);
});

test('waiters get the app in the order they came, each told its place in line', async () => {
  const locks = new AppLocks();
  const unlockFirst = await locks.acquire('shop', holder('first'), neverWaits);
  const positions: number[] = [];
  const order: string[] = [];
  const waiters = ['second', 'third', 'fourth'].map((name) => [name, locks.acquire('shop', holder(name), (_, position) => positions.push(position))] as [string, Promise<() => void>]);
  await granted(order, ...waiters);
  assert.deepEqual(positions, [1, 2, 3]);
  unlockFirst();
  await granted(order);
  assert.deepEqual(order, ['second']);
  for (const [, acquisition] of waiters) (await acquisition)();
  assert.deepEqual(order, ['second', 'third', 'fourth']);
  assert.ok(locks.tryAcquire('shop', holder('after')), 'the last unlock frees the app');
});

test('different apps never wait for each other', async () => {
  const locks = new AppLocks();
  await locks.acquire('shop', holder('shop deploy'), neverWaits);
  const unlockBlog = await locks.acquire('blog', holder('blog deploy'), neverWaits);
  unlockBlog();
  assert.equal(locks.tryAcquire('shop', holder('another')), undefined, 'unlocking blog left shop held');
});

test('tryAcquire takes a free app at once and never waits for a busy one', async () => {
  const locks = new AppLocks();
  const unlock = locks.tryAcquire('shop', holder('following its containers'));
  assert.ok(unlock);
  assert.equal(locks.tryAcquire('shop', holder('again')), undefined);
  const positions: number[] = [];
  const waiting = locks.acquire('shop', holder('a push'), (_, position) => positions.push(position));
  assert.deepEqual(positions, [1], 'a refused tryAcquire left no one in line');
  unlock();
  (await waiting)();
  assert.ok(locks.tryAcquire('shop', holder('free again')));
});

test('unlocking twice is harmless: the second call neither frees the next holder\'s lock nor lets two in', async () => {
  const locks = new AppLocks();
  const unlockFirst = await locks.acquire('shop', holder('first'), neverWaits);
  const order: string[] = [];
  const second = locks.acquire('shop', holder('second'), () => undefined);
  const third = locks.acquire('shop', holder('third'), () => undefined);
  unlockFirst();
  unlockFirst();
  await granted(order, ['second', second], ['third', third]);
  assert.deepEqual(order, ['second']);
  const unlockSecond = await second;
  unlockSecond();
  unlockSecond();
  await granted(order);
  assert.deepEqual(order, ['second', 'third']);
  (await third)();
  assert.ok(locks.tryAcquire('shop', holder('new holder')));
  unlockFirst();
  unlockSecond();
  assert.equal(locks.tryAcquire('shop', holder('busy')), undefined, 'stale unlocks did not free the app under its new holder');
});
