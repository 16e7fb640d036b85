import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Stage } from '../../src/deploy/stages.js';
import { imageName } from '../../src/model/naming.js';
import { ImageFiles } from '../../src/deploy/release-files.js';
import type { ReleaseSource } from '../../src/deploy/pipeline.js';
import { APP, deploy, deployLive, harness, INSTANCE, plugin, push, type Harness } from '../support/deploy-harness.js';

/** Release 1 is live and the app deploys stop-first; `order` lists the calls that matter, across the fake engine and proxy. */
async function stopFirst(t: TestContext): Promise<{ h: Harness; order: string[] }> {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  await h.store.updateApp(APP, (app) => (app.deploy.order = 'stop-first'));
  h.runtime.forgetCalls();
  h.proxy.forgetCalls();
  const order: string[] = [];
  const spy = <T extends object>(target: T, methods: (keyof T)[]) => {
    for (const method of methods) {
      const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
      (target as Record<keyof T, unknown>)[method] = async (...args: unknown[]) => {
        order.push(`${String(method)} ${typeof args[0] === 'object' ? (args[0] as { release?: number; processType?: string }).release ?? '' : args[0]}`.trim());
        return original(...args);
      };
    }
  };
  spy(h.runtime, ['stopContainer', 'startContainer', 'restartContainer', 'removeContainer']);
  spy(h.proxy, ['holdApp', 'drain', 'switchApp']);
  return { h, order };
}

const failingChecksOf = (release: number) => plugin('check-deploy', (context) => {
  if (context.release === release) throw new Error('answered 500');
});

test('stop-first: after the build the edge holds the app, the old release drains and stops, then the new one starts, is checked and switched in, and the old containers go', async (t) => {
  const { h, order } = await stopFirst(t);
  const old = (await h.store.getApp(APP))!.live!.containers[0];
  const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb'));
  assert.ok(outcome.ok, read);
  assert.deepEqual(order, ['holdApp shop', 'drain', `stopContainer ${old.id}`, 'startContainer 2', 'switchApp 2', 'drain', `stopContainer ${old.id}`, `removeContainer ${old.id}`]);
  assert.deepEqual(h.proxy.argsOf('holdApp'), [[APP, h.options.holdTimeoutSeconds]]);
  assert.equal(h.proxy.held.has(APP), false, 'the switch ends the hold');
  assert.match(read, /Stopping shop release 1 before release 2 starts \(deploy order stop-first\)\n.*Holding: new requests wait at the edge \(at most 30 s each\) until release 2 serves/);
  assert.ok(read.indexOf('Stopped unit_shop_web_1') < read.indexOf('Starting shop web (release 2)'), read);
  assert.equal((await h.store.getRelease(APP, 2))?.stageMs[Stage.Stop] !== undefined, true);
});

test('stop-first: a failed build touches nothing live; nothing is held or stopped', async (t) => {
  const { h, order } = await stopFirst(t);
  const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb', { Procfile: 'web: node server.js\n' }));
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.stage, Stage.Build);
  assert.deepEqual(order, []);
  assert.match(read, /Nothing changed: release 1 is still serving shop\./);
});

test('stop-first: a release that fails its checks is removed, the stopped release starts again and is routed, and the pusher reads so', async (t) => {
  const { h, order } = await stopFirst(t);
  const before = (await h.store.getApp(APP))!.live!;
  const old = before.containers[0];
  const { outcome, read } = await deploy(h.pipeline([failingChecksOf(2)]), push('2222222bbbb'));
  assert.equal(outcome.ok, false, read);
  assert.equal(!outcome.ok && outcome.stage, Stage.Check);
  const fresh = h.runtime.named(`${INSTANCE}_${APP}_web_2`);
  assert.equal(fresh, undefined, 'the new container is removed');
  assert.ok(order.indexOf(`restartContainer ${old.id}`) > order.indexOf('startContainer 2'));
  assert.equal(order.at(-1), 'switchApp 1');
  assert.deepEqual(h.proxy.routes.get(APP)?.upstreams, [{ host: old.ip, port: 5000 }]);
  assert.equal(h.runtime.containers.get(old.id)?.state, 'running');
  assert.deepEqual((await h.store.getApp(APP))?.live, before);
  assert.match(read, /Starting shop release 1 again \(release 2 failed; deploy order stop-first\)/);
  assert.match(read, /Release 1 serves shop again: the requests held at the edge went to it\. Release 2 never served\./);
  assert.doesNotMatch(read, /Nothing changed/);
});

test('stop-first: when the stopped release does not start again, the pusher reads that the app is down and what to do', async (t) => {
  const { h } = await stopFirst(t);
  h.runtime.fail('restartContainer', new Error('the engine refused'));
  const { outcome, read } = await deploy(h.pipeline([failingChecksOf(2)]), push('2222222bbbb'));
  assert.equal(outcome.ok, false);
  assert.match(read, /Release 1 did not start again: the engine refused\./);
  assert.match(read, /shop is down until its containers run again: berth keeps trying to start them \(berth status shows them\)\. Run berth ps:restart shop, or push a fixed release\./);
  assert.equal(h.proxy.held.has(APP), false, 'no request waits out the hold');
  assert.equal(h.proxy.routes.get(APP)?.release, 1);
});

test('start-first (the default) holds nothing and stops the old release only after the switch', async (t) => {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  h.proxy.forgetCalls();
  const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb'));
  assert.ok(outcome.ok, read);
  assert.deepEqual(h.proxy.calls.map((c) => c.method), ['switchApp', 'drain']);
  assert.doesNotMatch(read, /Holding/);
});

const imported = (h: Harness, reference: string): ReleaseSource => ({ kind: 'imported', reference, tree: new ImageFiles(h.runtime, reference) });

test('deploy:image: the image is labelled as INSTANCE/APP:RELEASE, started with its own command, switched in, and its digest recorded', async (t) => {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  h.runtime.images.add('vendor/shop:1.2');
  h.runtime.forgetCalls();
  const { outcome, read } = await deploy(h.pipeline(), imported(h, 'vendor/shop:1.2'), 'image vendor/shop:1.2');
  assert.ok(outcome.ok, read);
  const release = (await h.store.getRelease(APP, 2))!;
  assert.equal(release.image, imageName(INSTANCE, APP, 2));
  assert.equal(release.commit, '');
  assert.match(release.imageSource ?? '', /^vendor\/shop:1\.2@sha256:[0-9a-f]{64}$/);
  assert.match(release.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(h.runtime.argsOf('startContainer').map(([spec]) => (spec as { command: unknown }).command), [undefined], 'no Procfile: the image\'s own command');
  assert.equal(h.proxy.routes.get(APP)?.release, 2);
});

test('deploy:image of an image the engine lost meanwhile fails at the build stage and changes nothing', async (t) => {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  const { outcome, read } = await deploy(h.pipeline(), imported(h, 'vendor/gone:1'));
  assert.equal(outcome.ok, false);
  assert.match(read, /failed at the build stage: the image vendor\/gone:1 is not in the Docker engine/);
  assert.match(read, /Nothing changed: release 1 is still serving shop\./);
  assert.equal(h.proxy.routes.get(APP)?.release, 1);
});

test('deploy:image reads the Procfile from the image\'s working directory', async (t) => {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  h.runtime.images.add('vendor/shop:2');
  h.runtime.imageFiles.set('vendor/shop:2', { Procfile: 'web: node web.js --from-image\n' });
  const { outcome, read } = await deploy(h.pipeline(), imported(h, 'vendor/shop:2'));
  assert.ok(outcome.ok, read);
  assert.equal(h.runtime.named(`${INSTANCE}_${APP}_web_2`) !== undefined, true);
  const started = h.runtime.argsOf('startContainer').map(([spec]) => (spec as { command: unknown }).command);
  assert.equal(started.at(-1), 'node web.js --from-image');
  assert.deepEqual(h.runtime.argsOf('readImageFile').map(([image, file]) => `${image} ${file}`).sort(), ['vendor/shop:2 Procfile', 'vendor/shop:2 app.json'], 'each file copied out of the image once, however many stages read it');
});

test('deploy:image runs the image\'s release task, from the imported image, before any new container starts', async (t) => {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  h.runtime.images.add('vendor/shop:3');
  h.runtime.imageFiles.set('vendor/shop:3', { Procfile: 'web: node web.js\nrelease: node migrate.js\n' });
  const { outcome, read } = await deploy(h.pipeline(), imported(h, 'vendor/shop:3'));
  assert.ok(outcome.ok, read);
  const [task] = h.runtime.argsOf('runOneOff').map(([spec]) => spec as { role: string; command: string; image: string });
  assert.deepEqual([task?.role, task?.command], ['release', 'node migrate.js']);
  assert.equal(task.image, `${INSTANCE}/${APP}:2`, 'from the image as berth labelled it for release 2');
  const methods = h.runtime.calls.map((call) => call.method);
  assert.ok(methods.indexOf('runOneOff') < methods.lastIndexOf('startContainer'), 'before the new container started');
});
