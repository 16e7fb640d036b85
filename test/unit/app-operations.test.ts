// App operations that read an app's record and then change the app do both under the app's lock,
// so a deploy in flight or a concurrent operation cannot make what they read stale; host names
// are unique across apps. The store and the lock are real; the engine and nginx are fakes.
import { CronScheduler } from '../../src/deploy/cron.js';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AppService } from '../../src/apps/service.js';
import { AppLocks } from '../../src/deploy/lock.js';
import { ConflictError } from '../../src/errors.js';
import type { HookTarget } from '../../src/git/repos.js';
import { DeployOutput } from '../../src/log/output.js';
import type { DataPlane } from '../../src/proxy/data-plane.js';
import { APP, deployLive, harness, plugin, push, type Harness } from '../support/deploy-harness.js';
import { certsHarness } from '../support/certs-harness.js';
import { FakeProxy } from '../support/fake-proxy.js';

/** The fake proxy whose host name updates take a turn, as the edge's admin call does. */
class FakeDataPlane extends FakeProxy {
  async updateHostNames(app: string, names: string[]): Promise<void> {
    await nextTurn();
    await super.updateHostNames(app, names);
  }
}

// Never run: the tests here create no repository whose hook would call berth.
const HOOK: HookTarget = { curl: '/bin/false', awk: ['/bin/false'], socketPath: '/nonexistent/hooks.sock' };

/** A check-deploy hook that holds the deploy in its check stage until `open` is called. */
function gate(): { plugin: ReturnType<typeof plugin>; reached: Promise<void>; open(): void } {
  let reach!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { plugin: plugin('check-deploy', async () => (reach(), opened)), reached, open };
}

async function operations(t: TestContext): Promise<{ h: Harness; proxy: FakeDataPlane; locks: AppLocks; service: (pipeline: ReturnType<Harness['pipeline']>) => AppService }> {
  const h = await harness(t);
  const proxy = new FakeDataPlane();
  h.proxy = proxy;
  const locks = new AppLocks();
  const { certificates: certs } = certsHarness(h, { proxy, locks });
  const service = (pipeline: ReturnType<Harness['pipeline']>) =>
    new AppService({ options: h.options, runtime: h.runtime, store: h.store, proxy: proxy as unknown as DataPlane, pipeline, locks, hook: HOOK, certs, cron: new CronScheduler({ options: h.options, runtime: h.runtime, store: h.store, log: () => undefined }) });
  return { h, proxy, locks, service };
}

/** A push as server/push.ts makes it: the app's lock, then the pipeline. */
async function pushHoldingLock(locks: AppLocks, pipeline: ReturnType<Harness['pipeline']>, commit: string): Promise<unknown> {
  const unlock = await locks.acquire(APP, { description: `commit ${commit}`, since: Date.now() }, () => undefined);
  try {
    const output = new DeployOutput();
    return await pipeline.deploy({ app: APP, source: push(commit), description: 'push', output });
  } finally {
    unlock();
  }
}

test('ps:stop during a deploy waits for it, then stops the release that serves and not the retired one', async (t) => {
  const { h, locks, service } = await operations(t);
  await deployLive(h, '1111111aaaa');
  const retired = (await h.store.getApp(APP))!.live!.containers.map((c) => c.id);
  const held = gate();
  const pipeline = h.pipeline([held.plugin]);
  const pushing = pushHoldingLock(locks, pipeline, '2222222bbbb');
  await held.reached;
  const output = new DeployOutput();
  const stopping = service(pipeline).processes.stop(APP, output);
  await nextTurn();
  held.open();
  await pushing;
  await stopping;
  const app = (await h.store.getApp(APP))!;
  assert.equal(app.live?.release, 2, 'the pushed release went live');
  const stops = h.runtime.argsOf('stopContainer').map(([id]) => id);
  for (const container of app.live!.containers) {
    assert.equal(h.runtime.containers.get(container.id)?.state, 'exited', `${container.name} of release 2 was stopped`);
  }
  assert.deepEqual(stops.filter((id) => retired.includes(id as string)), retired, 'release 1 was stopped once, when the deploy retired it');
  assert.equal(app.stopped, true);
  assert.match(output.transcript(), /Waiting: shop is busy with commit 2222222bbbb/);
});

test('two domains:add at once both stay', async (t) => {
  const { h, proxy, service } = await operations(t);
  await deployLive(h, '1111111aaaa');
  const domains = service(h.pipeline()).domains;
  await Promise.all([domains.add(APP, 'a.example.com'), domains.add(APP, 'b.example.com')]);
  assert.deepEqual((await h.store.getApp(APP))!.domains.sort(), ['a.example.com', 'b.example.com']);
  assert.deepEqual(proxy.hostNames.get(APP)?.sort(), ['a.example.com', 'b.example.com', 'shop.example.test'], 'the edge answers to both');
});

test('the same domain added to two apps at once goes to one of them; the other is told whose it is', async (t) => {
  const { h, service } = await operations(t);
  await h.store.createApp('blog');
  const domains = service(h.pipeline()).domains;
  const [shop, blog] = await Promise.allSettled([domains.add(APP, 'www.example.com'), domains.add('blog', 'www.example.com')]);
  assert.deepEqual([shop.status, blog.status].sort(), ['fulfilled', 'rejected']);
  const refused = (shop.status === 'rejected' ? shop : blog) as PromiseRejectedResult;
  assert.ok(refused.reason instanceof ConflictError);
  assert.match(refused.reason.message, /^www\.example\.com already belongs to app (shop|blog)$/);
  const owners = [(await h.store.getApp(APP))!.domains, (await h.store.getApp('blog'))!.domains].filter((list) => list.includes('www.example.com'));
  assert.equal(owners.length, 1);
});

test('domains:remove of a domain added while it waited removes just that one', async (t) => {
  const { h, service } = await operations(t);
  await h.store.updateApp(APP, (app) => (app.domains = ['old.example.com']));
  const domains = service(h.pipeline()).domains;
  await Promise.all([domains.add(APP, 'new.example.com'), domains.remove(APP, 'old.example.com')]);
  assert.deepEqual((await h.store.getApp(APP))!.domains, ['new.example.com']);
});

test('apps:create refuses a name whose APP.DOMAIN another app answers to as a custom domain', async (t) => {
  const { h, service } = await operations(t);
  await h.store.createApp('blog');
  await h.store.updateApp('blog', (app) => (app.domains = ['news.example.test']));
  await assert.rejects(service(h.pipeline()).apps.create('news'), (error: unknown) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.message, 'cannot create news: its host name news.example.test already belongs to app blog');
    assert.match(error.hint ?? '', /berth domains:remove blog news\.example\.test/);
    return true;
  });
  assert.equal(await h.store.getApp('news'), undefined, 'no app was made');
});
