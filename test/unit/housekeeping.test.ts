import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Housekeeping } from '../../src/deploy/housekeeping.js';
import { AppLocks } from '../../src/deploy/lock.js';
import { listReleaseRefs, releaseRef } from '../../src/git/release-refs.js';
import type { ServeOptions } from '../../src/server/options.js';
import { sleep } from '../../src/time.js';
import { APP, deploy, deployLive, harness, push, type Harness } from '../support/deploy-harness.js';

const run = promisify(execFile);
const INTERVAL_MS = 40;
const WEEK_SECONDS = 7 * 24 * 60 * 60;

function housekeeping(t: TestContext, h: Harness, options: Partial<ServeOptions> = {}, locks = new AppLocks()): { logged: string[]; start(): void } {
  const logged: string[] = [];
  const keeper = new Housekeeping({ options: { ...h.options, ...options }, runtime: h.runtime, store: h.store, locks, log: (line) => logged.push(line) }, INTERVAL_MS);
  t.after(() => keeper.stop());
  return { logged, start: () => keeper.start() };
}

test('the build cache is pruned at start and then on every round, of what went unused for --prune-build-cache-after days', async (t) => {
  const h = await harness(t);
  h.runtime.buildCache = { count: 3, bytes: 5 * 1024 * 1024 };
  const { logged, start } = housekeeping(t, h);
  start();
  await sleep(5);
  assert.deepEqual(h.runtime.argsOf('pruneBuildCache'), [[WEEK_SECONDS]], 'at start');
  assert.deepEqual(logged, ['pruned the build cache unused for 7 day(s): 5.0 MiB freed']);
  await sleep(INTERVAL_MS * 3.5);
  assert.ok(h.runtime.argsOf('pruneBuildCache').length >= 3, 'again on every round');
  assert.equal(logged.length, 1, 'a round that frees nothing says nothing');
});

test('--prune-build-cache-after 0 never prunes the build cache', async (t) => {
  const h = await harness(t);
  housekeeping(t, h, { pruneBuildCacheAfterDays: 0 }).start();
  await sleep(INTERVAL_MS * 2.5);
  assert.deepEqual(h.runtime.argsOf('pruneBuildCache'), []);
});

test('a prune the engine refuses is logged once and tried again at the next round', async (t) => {
  const h = await harness(t);
  h.runtime.fail('pruneBuildCache', new Error('the engine does not answer'), { always: true });
  const { logged, start } = housekeeping(t, h);
  start();
  await sleep(INTERVAL_MS * 2.5);
  assert.deepEqual(logged, ['pruning the build cache failed: the engine does not answer; retrying']);
  // The engine answers again: the only failure still planned is far beyond this test.
  h.runtime.fail('pruneBuildCache', new Error('not reached'), { call: 1000 });
  await sleep(INTERVAL_MS * 2);
  assert.ok(logged.includes('pruning the build cache works again'), logged.join('\n'));
});

/** Refs for every release, as the switch writes them, in a real repository. */
async function releaseRefs(h: Harness, releases: number[]): Promise<void> {
  const repo = h.store.repoDir(APP);
  await run('git', ['init', '-q', '--bare', repo]);
  const env = { ...process.env, GIT_DIR: repo, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@berth', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@berth' };
  const tree = (await run('git', ['hash-object', '-w', '-t', 'tree', '/dev/null'], { env })).stdout.trim();
  const commit = (await run('git', ['commit-tree', tree, '-m', 'push'], { env })).stdout.trim();
  for (const release of releases) await run('git', ['update-ref', releaseRef(release), commit], { env });
}

test('old release records go beyond --keep-deploy-logs, and the commits of releases nothing can run again; what serves or can be rolled back to stays', async (t) => {
  const h = await harness(t);
  for (let i = 1; i <= 6; i++) await deployLive(h, `${i}`.repeat(7));
  // Release 7 failed: its image went with the failure, its record is among the newest.
  h.runtime.fail('startContainer', new Error('no such image'));
  assert.equal((await deploy(h.pipeline(), push('7777777'))).outcome.ok, false);
  await releaseRefs(h, [1, 2, 3, 4, 5, 6, 7]);
  // The retirements kept the images of the 3 newest releases that served: 4 and 5, and 6 that serves.
  assert.deepEqual([...h.runtime.images].sort(), ['unit/shop:4', 'unit/shop:5', 'unit/shop:6']);
  const { logged, start } = housekeeping(t, h, { keepDeployLogs: 2 });
  start();
  // The first round runs at once; on a busy machine it may take longer than a fixed wait.
  for (const deadline = Date.now() + 5000; logged.length < 2 && Date.now() < deadline; ) await sleep(10);
  assert.deepEqual((await h.store.listReleases(APP)).map((r) => r.id), [7, 6, 5, 4], 'the newest 2, and every release whose image is kept');
  assert.equal(await h.store.readDeployLog(APP, 3), undefined);
  assert.deepEqual(await listReleaseRefs(h.store.repoDir(APP)), [4, 5, 6], 'the live release and the rollback targets keep their commits');
  assert.deepEqual(logged, [`${APP}: pruned the records of 3 old release(s) (1, 2, 3)`, `${APP}: let go of the commits of 4 release(s) that can no longer run (1, 2, 3, 7); git's gc removes them in time`]);
});

test('an app busy with a deploy is left alone until a later round', async (t) => {
  const h = await harness(t);
  for (let i = 1; i <= 3; i++) await deployLive(h, `${i}`.repeat(7));
  h.runtime.images.clear();
  const locks = new AppLocks();
  const unlock = locks.tryAcquire(APP, { description: 'a push', since: Date.now() })!;
  housekeeping(t, h, { keepDeployLogs: 1 }, locks).start();
  await sleep(INTERVAL_MS * 1.5);
  assert.equal((await h.store.listReleases(APP)).length, 3);
  unlock();
  await sleep(INTERVAL_MS * 1.5);
  assert.deepEqual((await h.store.listReleases(APP)).map((r) => r.id), [3], 'the live release stays');
});
