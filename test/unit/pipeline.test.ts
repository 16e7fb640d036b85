import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Stage } from '../../src/deploy/stages.js';
import { BerthError, throwIfStopped } from '../../src/errors.js';
import { imageName } from '../../src/model/naming.js';
import type { SwitchRequest } from '../../src/proxy/reverse-proxy.js';
import { ImageBuildError } from '../../src/runtime/runtime.js';
import type { LiveRelease } from '../../src/store/store.js';
import type { Trigger, TriggerHandler } from '../../src/plugins/types.js';
import { sleep } from '../../src/time.js';
import { FakeCommit } from '../support/fake-commit.js';
import { APP, APP_FILES, deploy, deployLive, harness, INSTANCE, plugin, push, reuse, type Deployed, type Harness } from '../support/deploy-harness.js';

const image = (release: number) => imageName(INSTANCE, APP, release);

/** What served before the deploy under test, to compare with after it. */
interface Serving {
  live: LiveRelease;
  route: SwitchRequest;
  images: string[];
}

/** Release 1 is live; the calls it took are forgotten, so a test sees only its own deploy's. */
async function serving(t: TestContext, commits = ['1111111aaaa']): Promise<{ h: Harness; before: Serving }> {
  const h = await harness(t);
  for (const commit of commits) await deployLive(h, commit);
  h.runtime.forgetCalls();
  h.proxy.forgetCalls();
  const live = (await h.store.getApp(APP))!.live!;
  return { h, before: { live, route: structuredClone(h.proxy.routes.get(APP)!), images: [...h.runtime.images].sort() } };
}

function containerNames(h: Harness): string[] {
  return [...h.runtime.containers.values()].map((c) => c.name).sort();
}

/**
 * A deploy that failed before the switch: the pusher reads where and why and that nothing
 * changed; the release is recorded failed at that stage; what it made is gone and what served
 * before still serves, untouched, with the proxy told nothing beyond `proxyWasAsked`.
 */
async function assertFailedAndNothingChanged(h: Harness, before: Serving, { outcome, read }: Deployed, stage: Stage, proxyWasAsked: string[] = []): Promise<void> {
  const release = before.live.release + 1;
  assert.equal(outcome.ok, false, read);
  assert.equal(outcome.stage, stage, read);
  assert.match(read, new RegExp(`Deploy of ${APP} \\(release ${release}\\) failed at the ${stage} stage: `));
  assert.match(read, new RegExp(`Nothing changed: release ${before.live.release} is still serving ${APP}\\.`));
  const record = await h.store.getRelease(APP, release);
  assert.equal(record?.status, 'failed');
  assert.equal(record?.failure?.stage, stage);
  assert.equal(record?.failure?.message, outcome.ok ? undefined : outcome.message);
  assert.deepEqual((await h.store.getApp(APP))?.live, before.live, 'the old release is still recorded live');
  assert.deepEqual(containerNames(h), before.live.containers.map((c) => c.name).sort(), 'only the old release runs');
  assert.deepEqual([...h.runtime.images].sort(), before.images, 'the images are those from before the deploy');
  assert.deepEqual(h.proxy.routes.get(APP), before.route, 'the proxy routes to the old release');
  assert.deepEqual(h.proxy.calls.map((c) => c.method), proxyWasAsked);
}

test('a first push builds, starts every process, checks, and routes the proxy to the web container only', async (t) => {
  const h = await harness(t);
  await h.store.updateApp(APP, (app) => (app.formation = { web: 1, worker: 1 }));
  const { outcome, read } = await deploy(h.pipeline(), push('1111111aaaa'));
  assert.ok(outcome.ok, read);
  const web = h.runtime.named(`${INSTANCE}_${APP}_web_1`)!;
  assert.ok(h.runtime.named(`${INSTANCE}_${APP}_worker_1`));
  assert.deepEqual(h.proxy.routes.get(APP), { app: APP, release: 1, serverNames: [`${APP}.example.test`], upstreams: [{ host: web.ip, port: 5000 }] });
  assert.deepEqual((await h.store.getApp(APP))?.live?.containers.map((c) => c.name).sort(), [web.name, `${INSTANCE}_${APP}_worker_1`]);
  assert.equal((await h.store.getRelease(APP, 1))?.status, 'live');
  assert.match(read, /Done: shop release 1 deployed in/);
  assert.deepEqual(h.proxy.argsOf('drain'), [], 'nothing served before, so nothing drains');
});

test('a second push switches, drains the old release and removes it', async (t) => {
  const { h, before } = await serving(t);
  const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb'));
  assert.ok(outcome.ok, read);
  const [old] = before.live.containers;
  assert.deepEqual(h.proxy.calls.map((c) => c.method), ['switchApp', 'drain']);
  assert.deepEqual(h.proxy.argsOf('drain'), [[{ upstreams: [{ host: old.ip, port: 5000 }] }, 1000]]);
  assert.deepEqual(h.runtime.argsOf('removeContainer'), [[old.id]]);
  assert.equal(h.proxy.routes.get(APP)?.release, 2);
  assert.equal((await h.store.getRelease(APP, 1))?.status, 'retired');
  assert.equal((await h.store.getRelease(APP, 2))?.status, 'live');
  assert.deepEqual([...h.runtime.images].sort(), [image(1), image(2)], 'the previous image stays for rollback');
});

test('build: a failing Dockerfile step fails the deploy with the engine\'s message and the hint', async (t) => {
  const { h, before } = await serving(t);
  h.runtime.fail('buildImage', new ImageBuildError('failed', "The command '/bin/sh -c exit 7' returned a non-zero code: 7"));
  const deployed = await deploy(h.pipeline(), push('2222222bbbb'));
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Build);
  assert.match(deployed.read, /failed at the build stage: the image build failed: The command '\/bin\/sh -c exit 7' returned a non-zero code: 7/);
  assert.match(deployed.read, /fix the failing Dockerfile step shown above and push again/);
  assert.deepEqual(h.runtime.argsOf('removeImage'), [], 'the build tagged no image');
  assert.match((await h.store.readDeployLog(APP, 2)) ?? '', /Nothing changed/, 'the deploy log keeps what the pusher read');
});

test('build: a commit without a Dockerfile fails before the engine is asked', async (t) => {
  const { h, before } = await serving(t);
  const deployed = await deploy(h.pipeline(), push('2222222bbbb', { Procfile: APP_FILES.Procfile }));
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Build);
  assert.match(deployed.read, /commit 2222222 has no Dockerfile at the root of the repository/);
  assert.deepEqual(h.runtime.argsOf('buildImage'), []);
});

test('build: a failing post-build hook removes the image the build made', async (t) => {
  const { h, before } = await serving(t);
  const scanner = plugin('post-build', () => {
    throw new BerthError('the image has a critical vulnerability');
  });
  const deployed = await deploy(h.pipeline([scanner]), push('2222222bbbb'));
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Build);
  assert.deepEqual(h.runtime.argsOf('removeImage'), [[image(2)]]);
});

test('start: when the 2nd of two containers cannot start, the 1st is removed with the built image', async (t) => {
  const { h, before } = await serving(t);
  await h.store.updateApp(APP, (app) => (app.formation.web = 2));
  h.runtime.fail('startContainer', new Error('the engine ran out of addresses'), { call: 2 });
  const deployed = await deploy(h.pipeline(), push('2222222bbbb'));
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Start);
  assert.match(deployed.read, /failed at the start stage: the engine ran out of addresses/);
  const first = `${INSTANCE}_${APP}_web_2`;
  assert.match(deployed.read, new RegExp(`Removed the new container ${first}\\.`));
  assert.equal(h.runtime.argsOf('removeContainer').length, 1, 'only the container that started is removed');
  assert.deepEqual(h.runtime.argsOf('removeImage'), [[image(2)]]);
});

test('start: a formation type the Procfile does not name fails before any container starts', async (t) => {
  const { h, before } = await serving(t);
  await h.store.updateApp(APP, (app) => (app.formation.clock = 1));
  const deployed = await deploy(h.pipeline(), push('2222222bbbb'));
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Start);
  assert.match(deployed.read, /the app is scaled to run "clock" but its Procfile has no clock line/);
  assert.deepEqual(h.runtime.argsOf('startContainer'), []);
});

test('check: a failing check shows the container\'s last output, removes it and its image, and tells the plugins', async (t) => {
  const { h, before } = await serving(t);
  const failures: unknown[] = [];
  const checks = plugin('check-deploy', (context) => {
    h.runtime.print(context.container!.id, 'listening on 5000', 'GET / 500');
    throw new BerthError('check GET / (CHECKS line 2) failed: answered 500', 'fix the app');
  });
  const notify = { ...plugin('deploy-failed', (context) => void failures.push(context.failure)), name: 'notify' };
  const deployed = await deploy(h.pipeline([checks, notify]), push('2222222bbbb'));
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Check);
  assert.match(deployed.read, /failed at the check stage: check GET \/ \(CHECKS line 2\) failed: answered 500 \(plugin probe, check-deploy\)\n.*fix the app/);
  assert.match(deployed.read, /Last 2 line\(s\) from unit_shop_web_2:\n.*listening on 5000\n.*GET \/ 500\n.*Removed the new container unit_shop_web_2\./);
  assert.deepEqual(h.runtime.argsOf('removeImage'), [[image(2)]]);
  assert.deepEqual(failures, [{ stage: Stage.Check, message: 'check GET / (CHECKS line 2) failed: answered 500 (plugin probe, check-deploy)' }]);
});

test('switch: when the proxy rejects the new route, the old release keeps serving and the new one is removed', async (t) => {
  const { h, before } = await serving(t);
  h.proxy.fail('switchApp', new BerthError('nginx -t failed: invalid upstream'));
  const deployed = await deploy(h.pipeline(), push('2222222bbbb'));
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Switch, ['switchApp', 'routedRelease']);
  assert.match(deployed.read, /failed at the switch stage: nginx -t failed: invalid upstream/);
  assert.deepEqual(h.runtime.argsOf('removeImage'), [[image(2)]]);
});

test('switch: the release keeps its commit before anything routes to it; a restart keeps it again as its own release', async (t) => {
  const h = await harness(t);
  const pushed = push('1111111aaaa');
  const proxyCallsWhenKept: number[] = [];
  const tree = pushed.tree as FakeCommit;
  const keep = tree.keep.bind(tree);
  tree.keep = async (release) => {
    proxyCallsWhenKept.push(h.proxy.argsOf('switchApp').length);
    await keep(release);
  };
  assert.ok((await deploy(h.pipeline(), pushed)).outcome.ok);
  assert.deepEqual(tree.kept, [1]);
  assert.deepEqual(proxyCallsWhenKept, [0], 'kept before the proxy was asked to switch');
  const restart = reuse(image(1), '1111111aaaa');
  assert.ok((await deploy(h.pipeline(), restart, 'restart')).outcome.ok);
  assert.deepEqual((restart.tree as FakeCommit).kept, [2]);
});

test('switch: a commit that cannot be kept (a full disk) fails the deploy before the switch, changing nothing', async (t) => {
  const { h, before } = await serving(t);
  const pushed = push('2222222bbbb');
  (pushed.tree as FakeCommit).keepFailure = new Error('ENOSPC: no space left on device, link');
  const deployed = await deploy(h.pipeline(), pushed);
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Switch, ['routedRelease']);
  assert.match(deployed.read, /failed at the switch stage: ENOSPC: no space left on device, link/);
});

/** Makes a store write fail from the moment the proxy routes to `release` on. */
function failWritesOnceRouted(h: Harness, write: 'updateApp' | 'saveRelease', release: number, times = Infinity): void {
  const store = h.store as unknown as Record<typeof write, (...args: unknown[]) => Promise<unknown>>;
  const original = store[write].bind(h.store);
  let failures = 0;
  store[write] = async (...args) => {
    if (h.proxy.routes.get(APP)?.release === release && failures++ < times) throw new Error('ENOSPC: no space left on device, write');
    return original(...args);
  };
}

// The switch is the point of no return: a write that fails after it never removes the release that now serves.
for (const write of ['updateApp', 'saveRelease'] as const) {
  test(`switch: a ${write} that keeps failing after the proxy switched leaves the new release serving and the old one running`, async (t) => {
    const { h, before } = await serving(t);
    failWritesOnceRouted(h, write, 2);
    const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb'));
    assert.ok(outcome.ok, read);
    const routed = h.proxy.routes.get(APP)!;
    assert.equal(routed.release, 2, read);
    for (const upstream of routed.upstreams) assert.ok([...h.runtime.containers.values()].some((c) => c.ip === upstream.host), `${upstream.host} still runs\n${read}`);
    assert.ok(h.runtime.images.has(image(2)), 'the image that serves stays');
    assert.ok(h.runtime.containers.has(before.live.containers[0].id), 'the previous release is not retired while the records say it is live');
    assert.doesNotMatch(read, /Nothing changed/);
    assert.match(read, /nginx sends every new request to release 2, but berth could not record that it is live: ENOSPC/);
    assert.match(read, /Release 1 keeps running \(it is not retired\), until berth records the switch/);
    assert.match(read, /Done: shop release 2 serves \(in [\d.]+ m?s\), but is not recorded live yet/);
    assert.deepEqual(h.proxy.argsOf('drain'), [], 'nothing was drained');
  });
}

test('switch: a write after the switch that fails once is tried again and the deploy completes as usual', async (t) => {
  const { h, before } = await serving(t);
  failWritesOnceRouted(h, 'updateApp', 2, 1);
  const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb'));
  assert.ok(outcome.ok, read);
  assert.equal((await h.store.getApp(APP))?.live?.release, 2);
  assert.equal((await h.store.getRelease(APP, 2))?.status, 'live');
  assert.ok(!h.runtime.containers.has(before.live.containers[0].id), 'the previous release is retired');
  assert.doesNotMatch(read, /could not record/);
});

test('switch: when the proxy fails half way and still routes to the new release, its containers are kept', async (t) => {
  const { h } = await serving(t);
  const switchApp = h.proxy.switchApp.bind(h.proxy);
  h.proxy.switchApp = async (request) => {
    await switchApp(request);
    throw new Error('the edge nginx took the new routes but its answer was lost, and it did not take the previous ones back');
  };
  const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb'));
  assert.equal(outcome.ok, false, read);
  assert.match(read, /nginx still routes shop to release 2, so its containers keep running/);
  const routed = h.proxy.routes.get(APP)!;
  for (const upstream of routed.upstreams) assert.ok([...h.runtime.containers.values()].some((c) => c.ip === upstream.host), `${upstream.host} still runs\n${read}`);
  assert.equal((await h.store.getRelease(APP, 2))?.status, 'switching', 'left for the reconciler to adopt');
});

test('retire: what an earlier failed retirement left drains and goes at the next deploy, and its release is recorded retired', async (t) => {
  const { h, before } = await serving(t);
  h.runtime.fail('stopContainer', new Error('the engine timed out'));
  assert.ok((await deploy(h.pipeline(), push('2222222bbbb'))).outcome.ok);
  const { outcome, read } = await deploy(h.pipeline(), push('3333333cccc'));
  assert.ok(outcome.ok, read);
  assert.match(read, /-----> Retiring shop release 2\n {7}Also retiring unit_shop_web_1, left by an earlier release/);
  assert.ok(!h.runtime.containers.has(before.live.containers[0].id), 'release 1 is gone');
  assert.deepEqual(containerNames(h), ['unit_shop_web_3']);
  assert.equal((await h.store.getRelease(APP, 1))?.status, 'retired');
  assert.equal((await h.store.getRelease(APP, 2))?.status, 'retired');
});

test('retire: a failure is a warning; the new release stays live and served', async (t) => {
  const { h, before } = await serving(t);
  h.runtime.fail('stopContainer', new Error('the engine timed out'));
  const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb'));
  assert.ok(outcome.ok, read);
  assert.match(read, /Retiring the previous release did not finish: the engine timed out\. The new release is live; berth will clean up on the next deploy\./);
  assert.match(read, /Done: shop release 2 deployed in/);
  assert.doesNotMatch(read, /Nothing changed/);
  const live = (await h.store.getApp(APP))!.live!;
  assert.equal(live.release, 2);
  assert.equal((await h.store.getRelease(APP, 2))?.status, 'live');
  assert.equal(h.proxy.routes.get(APP)?.release, 2);
  for (const container of live.containers) assert.ok(h.runtime.containers.has(container.id), `${container.name} of the new release runs`);
  assert.ok(h.runtime.containers.has(before.live.containers[0].id), 'the old container is left for the next deploy to clean up');
  assert.ok(h.runtime.images.has(image(2)));
});

test('rollback: a failed release of an older image never removes that image', async (t) => {
  const { h, before } = await serving(t, ['1111111aaaa', '2222222bbbb']);
  const checks = plugin('check-deploy', () => {
    throw new BerthError('check GET / failed: answered 500');
  });
  const deployed = await deploy(h.pipeline([checks]), reuse(image(1), '1111111aaaa'), 'rollback to release 1');
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Check);
  assert.deepEqual(h.runtime.argsOf('removeImage'), []);
  assert.ok(h.runtime.images.has(image(1)) && h.runtime.images.has(image(2)));
});

test('restart: a failed start of the live image never removes that image', async (t) => {
  const { h, before } = await serving(t);
  h.runtime.fail('startContainer', new Error('port allocation failed'));
  const deployed = await deploy(h.pipeline(), reuse(before.live.image, before.live.commit), 'restart');
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Start);
  assert.deepEqual(h.runtime.argsOf('removeImage'), []);
});

test('rollback: an image no longer on the server fails the build stage and says how to get it back', async (t) => {
  const { h, before } = await serving(t);
  const deployed = await deploy(h.pipeline(), reuse(image(0), '0000000cccc'), 'rollback to release 0');
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Build);
  assert.match(deployed.read, /the image unit\/shop:0 is no longer on this server\n.*push the app again \(berth keeps the images of the last 3 releases\)/);
  assert.deepEqual(h.runtime.argsOf('removeImage'), []);
});

test('a JS hook that ignores the deploy time limit is abandoned at the limit, and deploy-failed hooks still run', { timeout: 10_000 }, async (t) => {
  const { h, before } = await serving(t);
  // berth's limit timers do not hold the process open (its servers do); nothing else here would.
  const keepAlive = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(keepAlive));
  const told: string[] = [];
  const stuck = { name: 'stuck', dir: '/nonexistent', handlers: new Map<Trigger, TriggerHandler>([
    ['pre-deploy', () => new Promise<void>(() => undefined)],
    ['deploy-failed', ({ failure }) => void told.push(failure!.message)],
  ]) };
  const started = Date.now();
  const deployed = await deploy(h.pipeline([stuck], { deployTimeoutSeconds: 0.25 }), push('2222222bbbb'));
  assert.ok(Date.now() - started < 2000, `the deploy ended ${Date.now() - started} ms after it began`);
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Start);
  assert.match(deployed.read, /failed at the start stage: the deploy ran past its time limit of 0\.25 s \(plugin stuck, pre-deploy\)\n.*raise --deploy-timeout/);
  assert.deepEqual(told, ['the deploy ran past its time limit of 0.25 s (plugin stuck, pre-deploy)']);
});

test('the deploy time limit stops a stage that does not end, naming the limit and the flag that raises it', async (t) => {
  const { h, before } = await serving(t);
  const endless = plugin('check-deploy', async ({ signal }) => {
    for (;;) {
      throwIfStopped(signal);
      await sleep(10);
    }
  });
  const deployed = await deploy(h.pipeline([endless], { deployTimeoutSeconds: 0.25 }), push('2222222bbbb'));
  await assertFailedAndNothingChanged(h, before, deployed, Stage.Check);
  assert.match(deployed.read, /failed at the check stage: the deploy ran past its time limit of 0\.25 s \(plugin probe, check-deploy\)\n.*raise --deploy-timeout/);
  assert.deepEqual(h.runtime.argsOf('removeImage'), [[image(2)]]);
});
