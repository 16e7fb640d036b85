// Release tasks as a user meets them: a real git push, Docker and nginx, the installed berth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { AppRepo, remoteHead } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';

const docker = new Docker();
const APP = 'migrating';
const HOST = `${APP}.localhost`;
const DEPLOY_TIMEOUT = 25;
const procfile = (release: string) => `web: node /app/server.js\nrelease: ${release}\n`;

describe('release tasks: once per deploy, from the new image, before the new release takes traffic', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  let version = 1;
  const body = async () => (await getThroughNginx(berth.httpPort, HOST)).body;
  const oneOffs = async () => docker.listContainers({ all: true, filters: { label: [`berth.instance=${berth.instance}`, 'berth.role'] } });

  /** A push of a new version.txt with these files; resolves with what git printed. */
  async function pushVersion(files: Record<string, string>) {
    version += 1;
    await repo.commit({ 'version.txt': `v${version}\n`, ...files }, `v${version}`);
    return repo.push(berth.remote(APP));
  }

  /** The local branch goes back to what is live, as a developer fixes and pushes again. */
  async function undoLocalCommit(): Promise<void> {
    await repo.resetTo((await remoteHead(berth.remote(APP)))!);
    version -= 1;
  }

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth({ args: ['--deploy-timeout', String(DEPLOY_TIMEOUT)] });
    assert.equal((await berthCli(berth, ['apps:create', APP])).code, 0);
    assert.equal((await berthCli(berth, ['config:set', APP, 'DATABASE_URL=postgres://db/app'])).code, 0);
    repo = await AppRepo.create({ Procfile: procfile('sh -c \'echo "migrating $DATABASE_URL to $(cat /app/version.txt)"\'') });
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('the Procfile release: line runs from the new image with the config, its output reaches the pusher, and the release goes live', async () => {
    const pushed = await repo.push(berth.remote(APP));
    assert.equal(pushed.code, 0, pushed.output);
    assert.match(pushed.output, /Running the release task of migrating \(release 1\) from the Procfile's release: line/);
    assert.match(pushed.output, /remote: +migrating postgres:\/\/db\/app to v1/);
    assert.match(await body(), /v1/);
    assert.deepEqual(await oneOffs(), [], 'the task container was removed');
    const scaled = await berthCli(berth, ['ps:scale', APP, 'release=1']);
    assert.equal(scaled.code, 2);
    assert.match(scaled.stderr, /"release" is reserved/);
  });

  test('a failing migration fails the push, and the old release keeps serving throughout', async () => {
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => pushVersion({ Procfile: procfile('sh -c \'echo "ERROR: relation users does not exist" >&2; exit 1\'') }));
    const pushed = watched.result;
    assert.notEqual(pushed.code, 0);
    assert.match(pushed.output, /ERROR: relation users does not exist/);
    assert.match(pushed.output, /failed at the release stage: the release task .* exited with code 1/);
    assert.match(pushed.output, /Nothing changed: release 1 is still serving migrating/);
    assert.match(await body(), /v1/);
    assert.deepEqual(await oneOffs(), []);
    await recordReliability({ area: 'Hostile and broken input', fault: 'a release task (migration) that exits 1', berthDid: 'failed the push at the release stage with the task\'s output, started no new container; the old release served on', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
    await undoLocalCommit();
  });

  test('app.json predeploy wins over the Procfile (the pusher reads so); a failing postdeploy is reported and the release stays live', async () => {
    const appJson = JSON.stringify({ scripts: { dokku: { predeploy: 'echo predeploy from app.json', postdeploy: 'echo warming; exit 3' } } });
    const pushed = await pushVersion({ 'app.json': appJson });
    assert.equal(pushed.code, 0, pushed.output);
    assert.match(pushed.output, /the Procfile's release: line .* is ignored/);
    assert.match(pushed.output, /remote: +predeploy from app.json/);
    assert.match(pushed.output, /remote: +warming/);
    assert.match(pushed.output, /The postdeploy task \(echo warming; exit 3\) exited with code 3; release 3 is live and stays live/);
    assert.match(await body(), /v2/);
  });

  test('a release task that never ends is stopped by --deploy-timeout, and nothing live changes', async () => {
    const started = Date.now();
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => pushVersion({ 'app.json': JSON.stringify({ scripts: { dokku: { predeploy: 'echo waiting forever; sleep 3600' } } }) }));
    const pushed = watched.result;
    assert.notEqual(pushed.code, 0);
    assert.ok(Date.now() - started < (DEPLOY_TIMEOUT + 30) * 1000, 'it ended near the limit');
    assert.match(pushed.output, /the release task was stopped: the deploy ran past its time limit of 25 s/);
    assert.match(pushed.output, /--deploy-timeout/);
    assert.match(await body(), /v2/);
    assert.deepEqual(await oneOffs(), [], 'the task container was killed and removed');
    await recordReliability({ area: 'Bounds', fault: `a release task that never ends (--deploy-timeout ${DEPLOY_TIMEOUT})`, berthDid: 'killed and removed its container at the deploy\'s limit, failed the push naming the flag; the old release served on', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
    await undoLocalCommit();
  });
});
