import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, berthJson, spawnBerthCli } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import type { AppInfo, ReleaseInfo, StatusInfo } from '../../src/model/api.js';

const APP = 'ops';
const HOST = `${APP}.localhost`;

describe('operating berth: the CLI and admin API against a real server', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  const info = async (app = APP) => (await berthJson<{ app: AppInfo }>(berth, ['apps:info', app])).app;
  const body = async (urlPath = '/', host = HOST) => getThroughNginx(berth.httpPort, host, urlPath);

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    repo = await AppRepo.create({ Procfile: 'web: node /app/server.js\nworker: node /app/worker.js\n' });
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('status shows berth, its edge nginx and the Docker engine', async () => {
    const status = await berthJson<StatusInfo>(berth, ['status']);
    assert.equal(status.berth.instance, berth.instance);
    assert.ok(status.nginx.edge.running && status.docker.running);
    const human = await berthCli(berth, ['status']);
    assert.equal(human.code, 0, human.stderr);
  });

  test('apps:create, apps:list and apps:info; errors for a duplicate, a bad name and an unknown app', async () => {
    assert.equal((await berthCli(berth, ['apps:create', APP])).code, 0);
    const again = await berthCli(berth, ['apps:create', APP]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    const bad = await berthCli(berth, ['apps:create', 'Bad_Name']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not a valid app name/);
    const list = await berthJson<{ apps: { name: string }[] }>(berth, ['apps:list']);
    assert.ok(list.apps.some((a) => a.name === APP));
    const unknown = await berthCli(berth, ['apps:info', 'nope']);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /no app named nope/);
    const wrongToken = await berthCli(berth, ['apps:list'], { BERTH_TOKEN: 'not-the-token-0000000' });
    assert.equal(wrongToken.code, 3);
  });

  test('nothing to roll back before the first deploy; then a push deploys web and worker from the Procfile', async () => {
    const rollback = await berthCli(berth, ['rollback', APP]);
    assert.equal(rollback.code, 1);
    assert.match(rollback.stderr, /not been deployed yet/);
    const push = await repo.push(berth.remote(APP));
    assert.equal(push.code, 0, push.output);
    const app = await info();
    assert.equal(app.release, 1);
    assert.deepEqual(app.containers.map((c) => c.process), ['web']);
  });

  test('config:set restarts through checks and the switch; config:get, config:show, config:unset --no-restart; bad pairs are refused', async () => {
    const set = await berthCli(berth, ['config:set', APP, 'GREETING=hello world', 'EXTRA=a=b']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /Checking ops \(release 2\)/);
    assert.match(set.stdout, /Switching ops\.localhost to release 2/);
    assert.equal((await body('/env/GREETING')).body, 'hello world');
    assert.equal((await berthCli(berth, ['config:get', APP, 'EXTRA'])).stdout.trim(), 'a=b');
    assert.deepEqual((await berthJson<{ config: Record<string, string> }>(berth, ['config:show', APP])).config, { GREETING: 'hello world', EXTRA: 'a=b' });
    assert.equal((await berthCli(berth, ['config:set', APP, 'NOEQUALSIGN'])).code, 2);
    assert.equal((await berthCli(berth, ['config:set', APP, '1BAD=x'])).code, 2);
    const unset = await berthCli(berth, ['config:unset', APP, 'GREETING', '--no-restart']);
    assert.equal(unset.code, 0, unset.stderr);
    assert.equal((await info()).release, 2);
    assert.equal((await body('/env/GREETING')).body, 'hello world', 'not restarted, so the old value still runs');
    assert.equal((await berthCli(berth, ['config:get', APP, 'GREETING'])).code, 4);
  });

  test('ps:scale runs two web containers behind the proxy and a worker without it', async () => {
    const scale = await berthCli(berth, ['ps:scale', APP, 'web=2', 'worker=1']);
    assert.equal(scale.code, 0, scale.stderr + scale.stdout);
    const app = await info();
    assert.deepEqual(app.formation, { web: 2, worker: 1 });
    const running = app.containers.filter((c) => c.state === 'running');
    assert.deepEqual(running.map((c) => c.process).sort(), ['web', 'web', 'worker']);
    assert.ok(running.every((c) => c.release === app.release));
    for (let i = 0; i < 6; i++) assert.equal((await body()).status, 200);
    assert.equal((await berthCli(berth, ['ps:scale', APP, 'web=0'])).code, 2);
    assert.equal((await berthCli(berth, ['ps:scale', APP, 'web=lots'])).code, 2);
    assert.equal((await berthCli(berth, ['ps:scale', APP, 'web=1', 'worker=0'])).code, 0);
  });

  test('ps:stop takes the app down, ps:start and ps:restart bring new releases up', async () => {
    const stop = await berthCli(berth, ['ps:stop', APP]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await body()).status, 502);
    const start = await berthCli(berth, ['ps:start', APP]);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await body()).status, 200);
    const before = (await info()).release!;
    assert.equal((await berthCli(berth, ['ps:restart', APP])).code, 0);
    assert.equal((await info()).release, before + 1);
  });

  test('releases lists every release with its description; rollback goes back through checks; unknown releases are refused', async () => {
    const { releases } = await berthJson<{ releases: ReleaseInfo[] }>(berth, ['releases', APP]);
    assert.deepEqual(releases.map((r) => r.id), [...releases.map((r) => r.id)].sort((a, b) => b - a));
    assert.match(releases.find((r) => r.id === 2)!.description, /config change: set GREETING, set EXTRA/);
    const human = await berthCli(berth, ['releases', APP]);
    assert.match(human.stdout, /RELEASE/);
    await repo.commit({ 'version.txt': 'v2\n' }, 'v2');
    assert.equal((await repo.push(berth.remote(APP))).code, 0);
    assert.match((await body()).body, /Hello from v2/);
    const pushed = (await info()).release!;
    const rollback = await berthCli(berth, ['rollback', APP]);
    assert.equal(rollback.code, 0, rollback.stderr + rollback.stdout);
    assert.match(rollback.stdout, /Checking ops/);
    assert.match((await body()).body, /Hello from v1/);
    const latest = (await berthJson<{ releases: ReleaseInfo[] }>(berth, ['releases', APP])).releases[0];
    assert.equal(latest.id, pushed + 1);
    assert.match(latest.description, /rollback to release \d+/);
    assert.equal((await berthCli(berth, ['rollback', APP, '999'])).code, 4);
  });

  test('checks:disable, enable, skip and run', async () => {
    await berthCli(berth, ['checks:disable', APP]);
    assert.equal((await info()).checks, 'disabled');
    const unchecked = await berthCli(berth, ['ps:restart', APP]);
    assert.match(unchecked.stdout, /Checks are disabled/);
    await berthCli(berth, ['checks:enable', APP]);
    await berthCli(berth, ['checks:skip', APP]);
    const skipped = await berthCli(berth, ['ps:restart', APP]);
    assert.match(skipped.stdout, /Checks skipped for this deploy only/);
    assert.equal((await info()).checks, 'enabled');
    const run = await berthCli(berth, ['checks:run', APP]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /GET \/health: ok/);
  });

  test('domains:add routes a new host name to the app, domains:remove stops it; bad names are refused', async () => {
    assert.equal((await berthCli(berth, ['domains:add', APP, 'www.ops.test'])).code, 0);
    assert.equal((await body('/', 'www.ops.test')).status, 200);
    const list = await berthJson<{ default: string; domains: string[] }>(berth, ['domains:list', APP]);
    assert.deepEqual(list, { default: HOST, domains: ['www.ops.test'] });
    assert.notEqual((await berthCli(berth, ['domains:add', APP, 'bad;name'])).code, 0);
    assert.equal((await berthCli(berth, ['domains:remove', APP, 'www.ops.test'])).code, 0);
    assert.equal((await body('/', 'www.ops.test')).status, 404);
    assert.equal((await berthCli(berth, ['domains:remove', APP, 'www.ops.test'])).code, 4);
  });

  test('logs show container output and follow it; deploys:log shows a stored deploy, failed ones included', async () => {
    const logs = await berthCli(berth, ['logs', APP, '-n', '5']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /ops_web_\d+\| v1 listening on 5000/);
    const follow = spawnBerthCli(berth, ['logs', APP, '-f', '-n', '1']);
    await follow.waitFor(/listening on 5000/);
    await follow.waitFor(/ops_web_\d+\| v1 listening on 5000/);
    assert.equal(await follow.interrupt(), 0);
    const latest = await berthCli(berth, ['deploys:log', APP]);
    assert.match(latest.stdout, /-----> Switching ops\.localhost/);
    await repo.commit({ CHECKS: 'ATTEMPTS=1\n/ not there\n' }, 'bad checks');
    assert.notEqual((await repo.push(berth.remote(APP))).code, 0);
    const failed = (await berthJson<{ releases: ReleaseInfo[] }>(berth, ['releases', APP])).releases[0];
    assert.equal(failed.status, 'failed');
    const failedLog = await berthCli(berth, ['deploys:log', APP, String(failed.id)]);
    assert.match(failedLog.stdout, /failed at the check stage/);
    assert.equal((await berthCli(berth, ['deploys:log', APP, '999'])).code, 4);
  });

  test('status shows the disk that berth\'s images, the build cache and the data dir take', async () => {
    const { disk } = await berthJson<StatusInfo>(berth, ['status']);
    const images = await new Docker().listImages({ filters: { label: [`berth.instance=${berth.instance}`] } });
    assert.equal(disk.images?.count, images.length, 'every image of this berth, and only those');
    assert.ok(disk.images!.bytes > 0, 'the app\'s own layers');
    assert.ok(disk.images!.bytes < Math.min(...images.map((i) => i.Size)), 'the base image, which other images use too, is not counted');
    assert.ok(disk.buildCache && disk.buildCache.count >= 0 && disk.buildCache.bytes >= 0);
    assert.equal(disk.pruneBuildCacheAfterDays, 7);
    const du = Number((await promisify(execFile)('du', ['-s', '-B1', berth.dataDir])).stdout.split(/\s/)[0]);
    assert.ok(Math.abs(disk.dataDirBytes - du) <= du * 0.2, `data dir ${disk.dataDirBytes} bytes, du says ${du}`);
    const human = await berthCli(berth, ['status']);
    assert.match(human.stdout, new RegExp(`data dir: +${berth.dataDir}, [\\d.]+ (KiB|MiB)`));
    assert.match(human.stdout, new RegExp(`images: +${images.length}, [\\d.]+ (B|KiB|MiB) \\(the layers only berth's images use\\)`));
    assert.match(human.stdout, /build cache: +\d+ item\(s\), [\d.]+ (B|KiB|MiB|GiB), engine-wide; pruned once unused for 7 day\(s\)/);
  });

  test('apps:destroy needs --force when it cannot ask, then removes containers, routing and the repository', async () => {
    const refused = await berthCli(berth, ['apps:destroy', APP]);
    assert.equal(refused.code, 2);
    const destroyed = await berthCli(berth, ['apps:destroy', APP, '--force']);
    assert.equal(destroyed.code, 0, destroyed.stderr);
    assert.equal((await body()).status, 404);
    assert.equal((await berthCli(berth, ['apps:info', APP])).code, 4);
    await assert.rejects(fs.access(path.join(berth.dataDir, 'repos', `${APP}.git`)));
  });
});
