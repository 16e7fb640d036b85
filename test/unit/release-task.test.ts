import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stage } from '../../src/deploy/stages.js';
import { checkFormation } from '../../src/model/app.js';
import { imageName } from '../../src/model/naming.js';
import { APP, APP_FILES, deploy, deployLive, harness, INSTANCE, push, reuse } from '../support/deploy-harness.js';

const MIGRATE = 'node migrate.js';
const withRelease = { ...APP_FILES, Procfile: `web: node server.js\nrelease: ${MIGRATE}\n` };

test('the Procfile release: line runs once, from the new image, before any new container starts; its output reaches the pusher', async (t) => {
  const h = await harness(t);
  h.runtime.oneOffScripts.set(MIGRATE, { lines: ['migrated 3 tables'], exitCode: 0 });
  const { outcome, read } = await deploy(h.pipeline(), push('1111111aaaa', withRelease));
  assert.ok(outcome.ok, read);
  assert.equal(h.runtime.oneOffs.length, 1);
  const [task] = h.runtime.oneOffs;
  assert.equal(task.role, 'release');
  assert.equal(task.image, imageName(INSTANCE, APP, 1));
  assert.equal(task.command, MIGRATE);
  const methods = h.runtime.calls.map((c) => c.method);
  assert.ok(methods.indexOf('runOneOff') < methods.indexOf('startContainer'), 'the task ran before the first new container started');
  assert.match(read, /Running the release task of shop \(release 1\) from the Procfile's release: line: node migrate.js\n {7}migrated 3 tables/);
  assert.ok(![...h.runtime.containers.values()].some((c) => c.process === 'release'), 'release is never a long-running process');
  assert.ok('release' in outcome.stageMs);
});

test('app.json scripts.dokku.predeploy wins over the Procfile, and the pusher reads that the release: line was ignored', async (t) => {
  const h = await harness(t);
  const appJson = JSON.stringify({ scripts: { dokku: { predeploy: 'node predeploy.js' } } });
  const { outcome, read } = await deploy(h.pipeline(), push('1111111aaaa', { ...withRelease, 'app.json': appJson }));
  assert.ok(outcome.ok, read);
  assert.deepEqual(h.runtime.oneOffs.map((o) => o.command), ['node predeploy.js']);
  assert.match(read, /app.json's scripts.dokku.predeploy runs as the release task; the Procfile's release: line \(node migrate.js\) is ignored/);
});

test('a release task that exits non-zero fails the deploy at the release stage, and nothing live changes', async (t) => {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  const before = (await h.store.getApp(APP))!.live;
  h.runtime.oneOffScripts.set(MIGRATE, { lines: ['relation "users" does not exist'], exitCode: 1 });
  const { outcome, read } = await deploy(h.pipeline(), push('2222222bbbb', withRelease));
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.stage, Stage.Release);
  assert.match(read, /the release task \(node migrate.js\) exited with code 1/);
  assert.match(read, /Nothing changed: release 1 is still serving shop/);
  assert.deepEqual((await h.store.getApp(APP))!.live, before);
  assert.equal(h.runtime.argsOf('startContainer').length, 1, 'no container of release 2 was started');
  assert.equal((await h.store.getRelease(APP, 2))?.failure?.stage, 'release');
});

test('a release task that never ends is stopped by --deploy-timeout, and the deploy fails', async (t) => {
  const h = await harness(t);
  h.runtime.oneOffScripts.set(MIGRATE, { lines: [], exitCode: 0, hangs: true });
  const { outcome, read } = await deploy(h.pipeline([], { deployTimeoutSeconds: 1 }), push('1111111aaaa', withRelease));
  assert.equal(!outcome.ok && outcome.stage, Stage.Release);
  assert.match(read, /the release task was stopped: the deploy ran past its time limit of 1 s/);
  assert.match(read, /--deploy-timeout/);
});

test('a postdeploy task that fails is reported and the release stays live; a restart runs neither task again', async (t) => {
  const h = await harness(t);
  const appJson = JSON.stringify({ scripts: { dokku: { postdeploy: 'node warm-cache.js' } } });
  h.runtime.oneOffScripts.set('node warm-cache.js', { lines: ['cache is cold'], exitCode: 2 });
  const { outcome, read } = await deploy(h.pipeline(), push('1111111aaaa', { ...withRelease, 'app.json': appJson }));
  assert.ok(outcome.ok, read);
  assert.deepEqual(h.runtime.oneOffs.map((o) => o.command), [MIGRATE, 'node warm-cache.js']);
  assert.match(read, /The postdeploy task \(node warm-cache.js\) exited with code 2; release 1 is live and stays live/);
  assert.equal((await h.store.getApp(APP))!.live?.release, 1);
  const restarted = await deploy(h.pipeline(), reuse(imageName(INSTANCE, APP, 1), '1111111aaaa'), 'restart');
  assert.ok(restarted.outcome.ok, restarted.read);
  assert.equal(h.runtime.oneOffs.length, 2, 'a restart reuses an image whose tasks ran');
});

test('release is a reserved process type: ps:scale release=1 is refused, release=0 is fine', () => {
  assert.throws(() => checkFormation(APP, { release: 1 }), /"release" is reserved/);
  assert.deepEqual(checkFormation(APP, { release: 0, web: 1 }), { release: 0, web: 1 });
});
