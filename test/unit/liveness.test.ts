// app.json's liveness checks on the live containers, after the deploy: a container failing one
// `attempts` times in a row is restarted through the engine and shows so; one that passes is left alone.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AppLocks } from '../../src/deploy/lock.js';
import { LivenessMonitor } from '../../src/deploy/liveness.js';
import { sleep } from '../../src/time.js';
import { FakeCommit } from '../support/fake-commit.js';
import { APP, APP_FILES, deploy, harness, push, type Harness } from '../support/deploy-harness.js';

const TICK_MS = 20;
const FILES = { ...APP_FILES, 'app.json': JSON.stringify({ healthchecks: { web: [{ type: 'startup', path: '/' }, { type: 'liveness', name: 'alive', command: ['/app/alive'], attempts: 2, wait: 0, timeout: 1 }] } }) };

async function liveWithMonitor(t: TestContext, locks = new AppLocks()): Promise<{ h: Harness; logged: string[]; monitor: LivenessMonitor; web: string }> {
  const h = await harness(t);
  const { outcome, read } = await deploy(h.pipeline(), push('c0ffee1', FILES));
  assert.ok(outcome.ok, read);
  const logged: string[] = [];
  const monitor = new LivenessMonitor({ options: h.options, runtime: h.runtime, store: h.store, locks, log: (line) => logged.push(line), commit: (_app, commit) => new FakeCommit(commit, FILES) }, TICK_MS);
  t.after(() => monitor.stop());
  const web = (await h.store.getApp(APP))!.live!.containers.find((c) => c.process === 'web')!.id;
  return { h, logged, monitor, web };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 3000) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('a live container that passes its liveness check is left alone and shows passing', async (t) => {
  const { h, monitor, web } = await liveWithMonitor(t);
  monitor.start();
  await until(() => monitor.liveness(web)?.state === 'passing', 'a passing check');
  await sleep(TICK_MS * 3);
  assert.deepEqual(h.runtime.argsOf('execInContainer')[0], [web, ['/app/alive']]);
  assert.equal(h.runtime.argsOf('stopContainer').length, 0);
  assert.deepEqual({ ...monitor.liveness(web), lastCheckedAt: null }, { state: 'passing', failures: 0, restarts: 0, lastResult: 'command ["/app/alive"]: ok, exited 0', lastCheckedAt: null });
  const worker = (await h.store.getApp(APP))!.live!.containers.find((c) => c.process === 'worker');
  assert.equal(worker && monitor.liveness(worker.id), undefined, 'a process type without liveness checks is not watched');
});

test('failing `attempts` times in a row restarts the container through the engine, logged and counted; then it is checked again', async (t) => {
  const { h, logged, monitor, web } = await liveWithMonitor(t);
  let broken = true;
  h.runtime.exec = () => (broken ? { exitCode: 1, output: 'deadlocked\n' } : { exitCode: 0, output: '' });
  monitor.start();
  await until(() => (monitor.liveness(web)?.restarts ?? 0) === 1, 'a restart');
  broken = false;
  assert.deepEqual(h.runtime.argsOf('stopContainer'), [[web, h.options.stopTimeoutSeconds]]);
  assert.deepEqual(h.runtime.argsOf('restartContainer'), [[web]]);
  assert.match(logged.join('\n'), /shop: \S+ failed its liveness check command \["\/app\/alive"\] \(app\.json healthchecks\.web\[1\] \("alive"\)\) \[2\/2\]: exited 1: deadlocked/);
  assert.match(logged.join('\n'), /restarting \S+: its liveness check command \["\/app\/alive"\] failed 2 time\(s\) in a row/);
  assert.match(logged.join('\n'), /restarted \S+ \(restart 1 by berth\)/);
  await until(() => monitor.liveness(web)?.state === 'passing', 'passing again');
  assert.equal(monitor.liveness(web)?.restarts, 1);
});

test('while a deploy holds the app, a failing container is not restarted; the restart comes once the app is free', async (t) => {
  const locks = new AppLocks();
  const { h, monitor, web } = await liveWithMonitor(t, locks);
  h.runtime.exec = () => ({ exitCode: 1, output: '' });
  const unlock = locks.tryAcquire(APP, { description: 'a deploy', since: Date.now() })!;
  monitor.start();
  await until(() => (monitor.liveness(web)?.failures ?? 0) >= 3, 'failures while locked');
  assert.equal(h.runtime.argsOf('stopContainer').length, 0);
  unlock();
  await until(() => monitor.liveness(web)?.restarts === 1, 'the restart after the lock');
});

test('an app with checks disabled gets no liveness checks', async (t) => {
  const { h, monitor, web } = await liveWithMonitor(t);
  await h.store.updateApp(APP, (app) => (app.checks = 'disabled'));
  monitor.start();
  await sleep(TICK_MS * 4);
  assert.equal(monitor.liveness(web), undefined);
  assert.equal(h.runtime.argsOf('execInContainer').length, 0);
});
