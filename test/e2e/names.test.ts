// Container names on a shared engine: apps whose names and process types run together get
// containers of their own, and a container berth did not make for this very release is never
// removed to make room for one it starts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli } from '../support/cli.js';
import { ensureTestBaseImage, TEST_BASE_IMAGE } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';

const docker = new Docker();

/** The app, its Procfile's one background type, and the name of that type's container as hyphens alone would join them. */
const APPS = [
  { app: 'shop', type: 'mail-worker' },
  { app: 'shop-mail', type: 'worker' },
];

async function running(instance: string, app: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ filters: { label: [`berth.instance=${instance}`, `berth.app=${app}`] } });
}

describe('container names: apps and berths never take each other\'s containers', () => {
  let berth: BerthInstance;
  const repos: AppRepo[] = [];
  const foreign: Docker.Container[] = [];

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
  });

  after(async () => {
    for (const container of foreign) await container.remove({ force: true }).catch(() => undefined);
    await berth?.destroy();
    for (const repo of repos) await repo.remove();
  });

  test('app shop with type mail-worker and app shop-mail with type worker, at the same release, both run', async () => {
    for (const { app, type } of APPS) {
      assert.equal((await berthCli(berth, ['apps:create', app])).code, 0);
      assert.equal((await berthCli(berth, ['ps:scale', app, `${type}=1`])).code, 0);
    }
    for (const { app, type } of APPS) {
      const repo = await AppRepo.create({ Procfile: `web: node /app/server.js\n${type}: node /app/worker.js\n`, 'version.txt': `${app}\n` });
      repos.push(repo);
      const pushed = await repo.push(berth.remote(app));
      assert.equal(pushed.code, 0, pushed.output);
    }
    const names: string[] = [];
    for (const { app, type } of APPS) {
      const containers = await running(berth.instance, app);
      assert.deepEqual(containers.map((c) => c.Labels['berth.process']).sort(), [type, 'web'].sort(), `${app}: both of its containers run`);
      assert.ok(containers.every((c) => c.Labels['berth.release'] === '1'), 'both apps are at release 1');
      names.push(...containers.map((c) => c.Names[0].replace(/^\//, '')));
      assert.match((await getThroughNginx(berth.httpPort, `${app}.localhost`)).body, new RegExp(`Hello from ${app} `));
    }
    assert.equal(new Set(names).size, 4, `four containers with four names: ${names.join(', ')}`);
    assert.ok(names.includes(`${berth.instance}_shop_mail-worker_1`) && names.includes(`${berth.instance}_shop-mail_worker_1`), names.join(', '));
    await recordReliability({
      area: 'Bounds',
      fault: 'two apps whose names and process types run together (shop + mail-worker, shop-mail + worker) at the same release',
      berthDid: `gave each container its own name (${berth.instance}_shop_mail-worker_1, ${berth.instance}_shop-mail_worker_1); all four containers run and both apps answer`,
      served: 0,
      lost: 0,
    });
  });

  test('a container of another owner under the name of the next release is left alone, and the deploy says why', async () => {
    const app = 'shop';
    const nextRelease = (JSON.parse(await fs.readFile(path.join(berth.dataDir, 'apps', app, 'app.json'), 'utf8')) as { nextRelease: number }).nextRelease;
    const name = `${berth.instance}_${app}_web_${nextRelease}`;
    // Labelled for this berth's instance only so that the tests' clean-up finds it; it is no app's.
    const other = await docker.createContainer({ name, Image: TEST_BASE_IMAGE, Cmd: ['sleep', '600'], Labels: { 'berth.instance': berth.instance, 'berth.app': 'someone-else' } });
    foreign.push(other);
    await other.start();
    const before = (await running(berth.instance, app)).map((c) => c.Id).sort();
    const watched = await whileServing({ httpPort: berth.httpPort, host: `${app}.localhost` }, () => berthCli(berth, ['ps:restart', app]));
    const restart = watched.result;
    assert.equal(restart.code, 1, restart.stdout + restart.stderr);
    const said = restart.stdout + restart.stderr;
    assert.match(said, new RegExp(`a container named ${name} already exists and it belongs to app someone-else of berth instance ${berth.instance}; berth does not remove it`));
    assert.match(said, new RegExp(`docker rm -f ${name}`));
    assert.equal((await other.inspect()).State.Running, true, 'the other container still runs');
    assert.deepEqual((await running(berth.instance, app)).map((c) => c.Id).sort(), before, 'the live release is untouched');
    await recordReliability({
      area: 'Hostile and broken input',
      fault: 'a container of another owner under the name berth gives the next release\'s container',
      berthDid: 'left it running and failed the restart at the start stage, naming the container, its owner and how to remove it; the live release kept serving',
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
  });
});
