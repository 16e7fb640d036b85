// Operations that read an app's record and then change the app wait for a deploy in progress and
// then act on what serves: before, ps:stop during a deploy stopped the release being retired and
// recorded the app stopped while the new release served on, and domains:add read a record the
// deploy was about to overwrite.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import type { AppInfo } from '../../src/model/api.js';
import { AppRepo, pushedApp, type PushResult } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, berthJson, type CliResult } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';

const docker = new Docker();
const APP = 'locked';
const HOST = `${APP}.localhost`;
/** Long enough for the operations below to be asked while the deploy is in its check stage. */
const SLOW_CHECKS = 'WAIT=4\n/health ok\n/ Hello\n';

async function runningContainers(instance: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ filters: { label: [`berth.instance=${instance}`, `berth.app=${APP}`] } });
}

describe('operations during a deploy wait for it, then act on the release that serves', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  let version = 1;

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    repo = await pushedApp(berth.remote(APP), { 'version.txt': 'v1\n' });
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  /** Pushes a slow-checking release and runs `during` once its check stage has begun. */
  async function duringDeploy<T>(during: () => Promise<T>): Promise<{ push: PushResult; result: T }> {
    await repo.commit({ CHECKS: SLOW_CHECKS, 'version.txt': `v${++version}\n` }, `v${version}`);
    let checking!: () => void;
    const checkStage = new Promise<void>((resolve) => (checking = resolve));
    const pushed = repo.push(berth.remote(APP), 'main', (output) => {
      if (/-----> Checking/.test(output)) checking();
    });
    await checkStage;
    const result = await during();
    return { push: await pushed, result };
  }

  test('ps:stop during a deploy waits for it, then stops the release it made live', async () => {
    // No load here: once stopped, the app is meant to answer nothing.
    const { push, result: stop } = await duringDeploy(() => berthCli(berth, ['ps:stop', APP]));
    assert.equal(push.code, 0, push.output);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`Waiting: ${APP} is busy`));
    const info = (await berthJson<{ app: AppInfo }>(berth, ['apps:info', APP])).app;
    assert.equal(info.stopped, true);
    assert.equal(info.release, 2, 'the release the deploy made live is the one recorded');
    assert.deepEqual(await runningContainers(berth.instance), [], 'no container of the app runs: the new release was stopped too');
    assert.equal((await berthCli(berth, ['ps:start', APP])).code, 0);
    assert.match((await getThroughNginx(berth.httpPort, HOST)).body, /Hello from v2/);
  });

  test('domains:add twice during a deploy: both wait, and both host names route to the new release', async () => {
    const domains = ['one.locked.test', 'two.locked.test'];
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () =>
      duringDeploy(() => Promise.all(domains.map((domain) => berthCli(berth, ['domains:add', APP, domain])))),
    );
    const { push, result: added } = watched.result;
    assert.equal(push.code, 0, push.output);
    added.forEach((result: CliResult, i) => assert.equal(result.code, 0, `domains:add ${domains[i]}: ${result.stderr}`));
    const info = (await berthJson<{ app: AppInfo }>(berth, ['apps:info', APP])).app;
    for (const domain of domains) {
      assert.ok(info.domains.includes(domain), `${domain} is kept: ${info.domains.join(', ')}`);
      assert.match((await getThroughNginx(berth.httpPort, domain)).body, new RegExp(`Hello from v${version}`));
    }
    assert.deepEqual(watched.failures, []);
    await recordReliability({
      area: 'Hostile and broken input',
      fault: 'two domains:add at once while a deploy is checking its new release',
      berthDid: 'both waited for the deploy and then for each other; both host names were kept and route to the release the deploy made live',
      served: watched.served,
      lost: watched.failures.length,
    });
  });
});
