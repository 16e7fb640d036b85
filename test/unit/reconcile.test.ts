import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AppLocks } from '../../src/deploy/lock.js';
import { Reconciler } from '../../src/deploy/reconcile.js';
import { Stage } from '../../src/deploy/stages.js';
import { imageName } from '../../src/model/naming.js';
import { DEFAULT_PIDS_LIMIT } from '../../src/model/resources.js';
import type { ContainerRecord, ReleaseStatus } from '../../src/store/store.js';
import { sleep } from '../../src/time.js';
import { APP, deployLive, harness, INSTANCE, type Harness } from '../support/deploy-harness.js';

const NEW_COMMIT = '2222222bbbb';

/** Release 1 is live and berth knows nothing else yet; what follows in a test happened while berth was down. */
async function world(t: TestContext): Promise<{ h: Harness; live: ContainerRecord; reconciler: Reconciler; locks: AppLocks; logged: string[] }> {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  h.runtime.forgetCalls();
  h.proxy.forgetCalls();
  const locks = new AppLocks();
  const logged: string[] = [];
  const reconciler = reconcilerOf(t, h, locks, logged);
  return { h, live: (await h.store.getApp(APP))!.live!.containers[0], reconciler, locks, logged };
}

function reconcilerOf(t: TestContext, h: Harness, locks: AppLocks, logged: string[]): Reconciler {
  const reconciler = new Reconciler({ options: h.options, runtime: h.runtime, store: h.store, proxy: h.proxy, plugins: [], locks, log: (line) => logged.push(line) });
  t.after(() => reconciler.stop());
  return reconciler;
}

/** Release 2 as berth left it when it died with the release in `status`; from start on, its container runs. */
async function interrupted(h: Harness, status: ReleaseStatus): Promise<ContainerRecord | undefined> {
  const release = await h.store.createRelease(APP, NEW_COMMIT, 'push');
  await h.store.saveRelease(APP, { ...release, image: imageName(INSTANCE, APP, 2), status });
  await h.store.saveDeployLog(APP, 2, '-----> Building shop (release 2)\n');
  if (status === 'building') return undefined;
  h.runtime.images.add(imageName(INSTANCE, APP, 2));
  const container = await h.runtime.startContainer({ app: APP, release: 2, image: imageName(INSTANCE, APP, 2), processType: 'web', index: 1, command: undefined, port: 5000, env: {}, limits: { pids: DEFAULT_PIDS_LIMIT }, mounts: [] });
  h.runtime.forgetCalls();
  return container;
}

const UNFINISHED: [ReleaseStatus, Stage][] = [
  ['building', Stage.Build],
  ['starting', Stage.Start],
  ['checking', Stage.Check],
  ['switching', Stage.Switch],
];

for (const [status, stage] of UNFINISHED) {
  test(`recovery: a release left ${status} is marked failed at the ${stage} stage, its container drained and removed; release 1 serves on`, async (t) => {
    const { h, live, reconciler, logged } = await world(t);
    const stray = await interrupted(h, status);
    await reconciler.recoverAll();
    const release = await h.store.getRelease(APP, 2);
    assert.equal(release?.status, 'failed');
    assert.deepEqual(release?.failure, { stage, message: 'berth stopped during this deploy' });
    assert.match((await h.store.readDeployLog(APP, 2)) ?? '', new RegExp(`^-----> Building shop \\(release 2\\)\\nberth stopped during the ${stage} stage of this deploy; .*Push again\\.\\n$`));
    assert.ok(logged.includes(`${APP}: release 2 was interrupted at the ${stage} stage; marked failed`), logged.join('\n'));
    assert.equal((await h.store.getRelease(APP, 1))?.status, 'live');
    assert.equal(h.proxy.routes.get(APP)?.release, 1);
    assert.deepEqual([...h.runtime.containers.keys()], [live.id]);
    assert.deepEqual(h.runtime.argsOf('removeContainer'), stray ? [[stray.id]] : []);
    assert.deepEqual(h.proxy.argsOf('drain'), stray ? [[{ upstreams: [{ host: stray.ip, port: 5000 }] }, 1000]] : []);
  });
}

/** nginx routes to release 2, as a switch leaves it right before berth records it. */
async function routedToRelease2(h: Harness, container: ContainerRecord): Promise<void> {
  const route = h.proxy.routes.get(APP)!;
  await h.proxy.switchApp({ ...route, release: 2, upstreams: [{ host: container.ip, port: 5000 }] });
  h.proxy.forgetCalls();
}

test('recovery: killed after nginx switched but before the record said so, release 2 (checked, routed, running) is recorded live and release 1 drains and goes', async (t) => {
  const { h, live, reconciler, logged } = await world(t);
  const current = (await interrupted(h, 'switching'))!;
  await routedToRelease2(h, current);
  const drain = h.proxy.drain.bind(h.proxy);
  let runningWhileDrained = false;
  h.proxy.drain = (...args) => {
    runningWhileDrained = h.runtime.containers.has(live.id);
    return drain(...args);
  };
  await reconciler.recoverAll();
  const app = (await h.store.getApp(APP))!;
  assert.equal(app.live?.release, 2);
  assert.deepEqual(app.live?.containers.map((c) => c.id), [current.id]);
  assert.equal((await h.store.getRelease(APP, 2))?.status, 'live');
  assert.equal((await h.store.getRelease(APP, 1))?.status, 'retired');
  assert.equal(h.proxy.routes.get(APP)?.release, 2, 'nginx was not switched back');
  assert.ok(runningWhileDrained, 'release 1 is removed only after it drained');
  assert.deepEqual([...h.runtime.containers.keys()], [current.id]);
  assert.ok(logged.some((line) => line.includes('nginx routes to release 2, which passed its checks but was not recorded live')), logged.join('\n'));
});

test('recovery: nginx routes to a release whose containers are gone, so berth switches back to the recorded one', async (t) => {
  const { h, live, reconciler } = await world(t);
  const current = (await interrupted(h, 'switching'))!;
  await routedToRelease2(h, current);
  await h.runtime.removeContainer(current.id);
  await reconciler.recoverAll();
  assert.equal((await h.store.getApp(APP))?.live?.release, 1);
  assert.equal(h.proxy.routes.get(APP)?.release, 1);
  assert.equal((await h.store.getRelease(APP, 2))?.failure?.stage, Stage.Switch);
  assert.deepEqual([...h.runtime.containers.keys()], [live.id]);
});

test('recovery: a release recorded live while still switching is marked live; the previous one is retired, drained and removed', async (t) => {
  const { h, live, reconciler } = await world(t);
  const current = (await interrupted(h, 'switching'))!;
  await h.store.updateApp(APP, (app) => (app.live = { release: 2, commit: NEW_COMMIT, image: imageName(INSTANCE, APP, 2), containers: [current] }));
  await reconciler.recoverAll();
  const release = await h.store.getRelease(APP, 2);
  assert.equal(release?.status, 'live');
  assert.ok(release?.liveAt && release.finishedAt);
  assert.equal((await h.store.getRelease(APP, 1))?.status, 'retired');
  assert.deepEqual(h.proxy.routes.get(APP)?.upstreams, [{ host: current.ip, port: 5000 }]);
  assert.deepEqual(h.proxy.argsOf('drain'), [[{ upstreams: [{ host: live.ip, port: 5000 }] }, 1000]]);
  assert.deepEqual([...h.runtime.containers.keys()], [current.id]);
});

test('recovery: containers and networks of apps berth no longer knows are removed, and an app with no live release gets no route', async (t) => {
  const { h, live, reconciler, logged } = await world(t);
  h.runtime.images.add(imageName(INSTANCE, 'gone', 1));
  const orphan = await h.runtime.startContainer({ app: 'gone', release: 1, image: imageName(INSTANCE, 'gone', 1), processType: 'web', index: 1, command: undefined, port: 5000, env: {}, limits: { pids: DEFAULT_PIDS_LIMIT }, mounts: [] });
  await h.store.createApp('blog');
  await reconciler.recoverAll();
  assert.ok(h.runtime.argsOf('removeContainer').some(([id]) => id === orphan.id));
  assert.deepEqual([...h.runtime.containers.keys()], [live.id]);
  assert.ok(logged.includes('removed 1 container(s) of apps that no longer exist'), logged.join('\n'));
  assert.deepEqual([...h.runtime.networks], [APP], 'the network of the app that is gone is removed, the live one stays');
  assert.deepEqual(h.proxy.argsOf('removeApp'), [['blog']]);
});

test('recovery: a live container the engine left stopped is started again and routed to', async (t) => {
  const { h, live, reconciler } = await world(t);
  h.runtime.halt(live.id);
  await reconciler.recoverAll();
  assert.deepEqual(h.runtime.argsOf('restartContainer'), [[live.id]]);
  assert.equal(h.runtime.containers.get(live.id)?.state, 'running');
  assert.deepEqual(h.proxy.routes.get(APP)?.upstreams, [{ host: live.ip, port: 5000 }]);
});

test('recovery: killed in the gap of a stop-first deploy (the edge holding the app, release 1 stopped, release 2 starting), release 1 starts again and the hold ends', async (t) => {
  const { h, live, reconciler } = await world(t);
  await h.proxy.holdApp(APP, 30);
  h.runtime.halt(live.id);
  const stray = await interrupted(h, 'starting');
  await reconciler.recoverAll();
  assert.equal(h.runtime.containers.get(live.id)?.state, 'running');
  assert.equal(h.proxy.held.has(APP), false, 'the edge routes the app again');
  assert.deepEqual(h.proxy.routes.get(APP)?.upstreams, [{ host: live.ip, port: 5000 }]);
  assert.equal(h.runtime.containers.has(stray!.id), false);
  assert.equal((await h.store.getRelease(APP, 2))?.status, 'failed');
});

test('recovery: a web container started again is routed only once it listens on its port', async (t) => {
  const { h, live, reconciler } = await world(t);
  await h.proxy.holdApp(APP, 30);
  h.runtime.halt(live.id);
  let looks = 0;
  const routedAfter: number[] = [];
  h.runtime.listeningSockets = async () => (++looks < 3 ? [] : [{ address: '0.0.0.0', port: 5000 }]);
  const switchApp = h.proxy.switchApp.bind(h.proxy);
  h.proxy.switchApp = async (request) => {
    routedAfter.push(looks);
    return switchApp(request);
  };
  await reconciler.recoverAll();
  assert.deepEqual(routedAfter, [3], 'routed once the third look found it listening');
});

test('recovery: an app whose recovery fails is logged and the next app still recovers', async (t) => {
  const { h, reconciler, logged } = await world(t);
  await h.store.createApp('blog');
  h.runtime.fail('appContainers', new Error('the engine is restarting'));
  await reconciler.recoverAll();
  assert.ok(logged.some((line) => line.startsWith('recovery of blog did not finish: the engine is restarting;')), logged.join('\n'));
  assert.deepEqual(h.runtime.argsOf('appContainers'), [['blog'], [APP]]);
});

test('following: a live container given a new address makes the proxy switch to it, and the record follows', async (t) => {
  const { h, live, reconciler, logged } = await world(t);
  reconciler.watch();
  h.runtime.move(live.id, '172.20.0.99');
  h.runtime.announceChange();
  await reconciler.stop();
  assert.deepEqual(h.proxy.routes.get(APP)?.upstreams, [{ host: '172.20.0.99', port: 5000 }]);
  assert.equal((await h.store.getApp(APP))?.live?.containers[0].ip, '172.20.0.99');
  assert.ok(logged.includes(`${APP}: the engine gave release 1 new addresses (172.20.0.99); nginx follows`), logged.join('\n'));
});

test('following: an app whose lock is held is left alone; once free, it is followed', async (t) => {
  const { h, live, reconciler, locks, logged } = await world(t);
  const unlock = locks.tryAcquire(APP, { description: 'a deploy', since: Date.now() })!;
  reconciler.watch();
  h.runtime.move(live.id, '172.20.0.99');
  h.runtime.announceChange();
  await reconciler.stop();
  assert.deepEqual(h.proxy.argsOf('switchApp'), []);
  assert.equal((await h.store.getApp(APP))?.live?.containers[0].ip, live.ip);

  unlock();
  const next = reconcilerOf(t, h, locks, logged);
  next.watch();
  h.runtime.announceChange();
  await next.stop();
  assert.equal(h.proxy.routes.get(APP)?.upstreams[0].host, '172.20.0.99');
});

test('watching: an edge nginx found dead is started again', async (t) => {
  const { h, reconciler, logged } = await world(t);
  h.proxy.running = false;
  reconciler.watch();
  for (let waited = 0; !h.proxy.running && waited < 2000; waited += 20) await sleep(20);
  await reconciler.stop();
  assert.deepEqual(h.proxy.argsOf('ensureRunning'), [[]]);
  assert.deepEqual(logged, ['the edge nginx is not running; starting it', 'nginx is running again']);
});
