import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { AppRepo, remoteHead } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';

const docker = new Docker();

async function runningContainers(instance: string, app: string): Promise<string[]> {
  const list = await docker.listContainers({ filters: { label: [`berth.instance=${instance}`, `berth.app=${app}`] } });
  return list.map((c) => c.Labels['berth.release']).sort();
}

/** A web hook receiver for the webhook plugin, on loopback. */
async function startWebhookReceiver(): Promise<{ url: string; events: Record<string, unknown>[]; close(): void }> {
  const events: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      events.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, events, close: () => server.close() };
}

/** A Dokku-style plugin: executables named after triggers, in a plugins folder. */
async function writeHookPlugin(dir: string, record: string): Promise<void> {
  const plugin = path.join(dir, 'audit');
  await fs.mkdir(plugin, { recursive: true });
  const script = (trigger: string, extra = '') =>
    `#!/bin/sh\necho "${trigger} $1 release $2 at $3 ($BERTH_CONTAINER_ADDRESS)" >> '${record}'\necho "audit saw ${trigger} for $BERTH_APP"\n${extra}`;
  await fs.writeFile(path.join(plugin, 'pre-deploy'), script('pre-deploy', 'if [ "$BERTH_APP" = "vetoed" ]; then echo "migrations failed"; exit 3; fi\n'), { mode: 0o755 });
  await fs.writeFile(path.join(plugin, 'post-deploy'), script('post-deploy'), { mode: 0o755 });
  await fs.writeFile(path.join(plugin, 'README.md'), 'not a trigger, ignored\n');
}

describe('the deploy path: git push -> build -> CHECKS -> nginx switch -> retire', () => {
  let berth: BerthInstance;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let pluginsDir: string;
  let hookRecord: string;
  const repos: AppRepo[] = [];

  async function newApp(files: Record<string, string | null> = {}): Promise<AppRepo> {
    const repo = await AppRepo.create(files);
    repos.push(repo);
    return repo;
  }

  before(async () => {
    await ensureTestBaseImage();
    webhook = await startWebhookReceiver();
    pluginsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-plugins-'));
    hookRecord = path.join(pluginsDir, 'record.txt');
    await writeHookPlugin(pluginsDir, hookRecord);
    berth = await startBerth({ args: ['--plugins-dir', pluginsDir], env: { BERTH_WEBHOOK_URL: webhook.url } });
  });

  after(async () => {
    await berth?.destroy();
    webhook?.close();
    await fs.rm(pluginsDir, { recursive: true, force: true });
    for (const repo of repos) await repo.remove();
  });

  test('a first push deploys and the app answers through nginx with forwarding headers', async () => {
    const repo = await newApp();
    const push = await repo.push(berth.remote('first'));
    assert.equal(push.code, 0, push.output);
    assert.match(push.output, /-----> Building first \(release 1\)/);
    assert.match(push.output, /\[1\/5\] GET \/health: ok, 200, found "ok"/);
    assert.match(push.output, /-----> Switching first\.localhost to release 1/);
    const response = await getThroughNginx(berth.httpPort, 'first.localhost');
    assert.equal(response.status, 200);
    assert.match(response.body, /Hello from v1 host=first\.localhost proto=http for=203\.0\.113\.9, 127\.0\.0\.1/);
    assert.equal((await getThroughNginx(berth.httpPort, 'unknown.localhost')).status, 404);
  });

  test('a second push switches to the new release and retires the old container', async () => {
    const repo = await newApp();
    assert.equal((await repo.push(berth.remote('second'))).code, 0);
    await repo.commit({ 'version.txt': 'v2\n' }, 'v2');
    const push = await repo.push(berth.remote('second'));
    assert.equal(push.code, 0, push.output);
    assert.match(push.output, /Retiring second release 1/);
    assert.match(push.output, /Stopped and removed .*second_web_1/);
    assert.match((await getThroughNginx(berth.httpPort, 'second.localhost')).body, /Hello from v2/);
    assert.deepEqual(await runningContainers(berth.instance, 'second'), ['2']);
  });

  test('a push whose CHECKS fail is rejected, the branch stays put and the old release keeps serving', async () => {
    const repo = await newApp();
    const good = await repo.commit({}, 'good');
    assert.equal((await repo.push(berth.remote('checked'))).code, 0);
    await repo.commit({ 'version.txt': 'v2\n', CHECKS: 'ATTEMPTS=2\n/ this text is not there\n' }, 'bad checks');
    const push = await repo.push(berth.remote('checked'));
    assert.notEqual(push.code, 0);
    assert.match(push.output, /\[2\/2\] GET \/: failed, answered 200 but the body does not contain "this text is not there"/);
    assert.match(push.output, /failed at the check stage/);
    assert.match(push.output, /Removed the new container/);
    assert.match(push.output, /release 1 is still serving checked/);
    assert.match(push.output, /pre-receive hook declined/);
    assert.equal(await remoteHead(berth.remote('checked')), good);
    assert.match((await getThroughNginx(berth.httpPort, 'checked.localhost')).body, /Hello from v1/);
    assert.deepEqual(await runningContainers(berth.instance, 'checked'), ['1']);
  });

  test('an app that crashes at start fails the deploy with its last output', async () => {
    const repo = await newApp();
    assert.equal((await repo.push(berth.remote('crashy'))).code, 0);
    await repo.commit({ 'server.js': 'console.log("booting v2"); throw new Error("database is unreachable");\n' }, 'crash');
    const push = await repo.push(berth.remote('crashy'));
    assert.notEqual(push.code, 0);
    assert.match(push.output, /before it accepted connections/);
    assert.match(push.output, /database is unreachable/);
    assert.match((await getThroughNginx(berth.httpPort, 'crashy.localhost')).body, /Hello from v1/);
  });

  test('a build error is rejected with the failing step', async () => {
    const repo = await newApp({ Dockerfile: 'FROM berth-test/node:20\nCOPY . /app\nRUN echo compiling && exit 7\n' });
    const push = await repo.push(berth.remote('broken'));
    assert.notEqual(push.code, 0);
    assert.match(push.output, /compiling/);
    assert.match(push.output, /failed at the build stage: the image build failed: The command '\/bin\/sh -c echo compiling && exit 7' returned a non-zero code: 7/);
    assert.match(push.output, /broken has no live release yet/);
    assert.equal(await remoteHead(berth.remote('broken')), undefined);
  });

  test('a commit without a Dockerfile is rejected naming the missing file', async () => {
    const repo = await newApp({ Dockerfile: null });
    const push = await repo.push(berth.remote('nodocker'));
    assert.notEqual(push.code, 0);
    assert.match(push.output, /has no Dockerfile at the root of the repository/);
    assert.match(push.output, /add one, commit it and push again/);
  });

  test('a push without the token, or with a wrong one, is refused', async () => {
    const repo = await newApp();
    const anonymous = await repo.push(`${berth.url}/tokenless.git`);
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.output, /Authentication failed|could not read Username/);
    const wrong = await repo.push(berth.url.replace('://', '://berth:not-the-token-000000@') + '/tokenless.git');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.output, /a valid token is needed/);
    assert.equal((await berth.fetch('/tokenless.git/git-receive-pack', { method: 'POST', body: '0000' })).status, 401);
    await assert.rejects(fs.access(path.join(berth.dataDir, 'repos', 'tokenless.git')));
  });

  test('only main or master deploys; another branch is refused saying which one deploys', async () => {
    const repo = await newApp();
    const push = await repo.push(berth.remote('branchy'), 'main:feature');
    assert.notEqual(push.code, 0);
    assert.match(push.output, /deploys branchy from the main or master branch only; refused: feature/);
    const master = await repo.push(berth.remote('branchy'), 'main:master');
    assert.equal(master.code, 0, master.output);
  });

  test('an invalid app name is refused with the naming rule', async () => {
    const repo = await newApp();
    const push = await repo.push(berth.remote('Bad_Name'));
    assert.notEqual(push.code, 0);
    assert.match(push.output, /not a valid app name/);
  });

  test('two concurrent pushes to one app: the second waits, says so, and is refused as stale; other apps deploy in parallel', async () => {
    const first = await newApp();
    const second = await newApp();
    const other = await newApp();
    await first.commit({ 'version.txt': 'first\n' }, 'first');
    await second.commit({ 'version.txt': 'second\n' }, 'second');
    const [a, b, c] = await Promise.all([first.push(berth.remote('busy')), new Promise((r) => setTimeout(r, 300)).then(() => second.push(berth.remote('busy'))), other.push(berth.remote('calm'))]);
    assert.equal(a.code, 0, a.output);
    assert.equal(c.code, 0, c.output);
    assert.notEqual(b.code, 0);
    assert.match(b.output, /Waiting: busy is already deploying/);
    assert.match(b.output, /moved to .* while this push waited; fetch, merge and push again/);
    assert.match((await getThroughNginx(berth.httpPort, 'busy.localhost')).body, /Hello from first/);
    assert.match((await getThroughNginx(berth.httpPort, 'calm.localhost')).body, /Hello from v1/);
  });

  test('a custom plugin runs its hooks with the app, release and address, and a failing pre-deploy fails the deploy', async () => {
    const repo = await newApp();
    const push = await repo.push(berth.remote('hooked'));
    assert.equal(push.code, 0, push.output);
    assert.match(push.output, /audit saw pre-deploy for hooked/);
    const record = await fs.readFile(hookRecord, 'utf8');
    assert.match(record, /pre-deploy hooked release 1 at \d+\.\d+\.\d+\.\d+:5000 \(\d+\.\d+\.\d+\.\d+:5000\)/);
    assert.match(record, /post-deploy hooked release 1/);

    const vetoed = await newApp();
    const refused = await vetoed.push(berth.remote('vetoed'));
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /migrations failed/);
    assert.match(refused.output, /failed at the start stage: .*exited with code 3 \(plugin audit, pre-deploy\)/);
    assert.deepEqual(await runningContainers(berth.instance, 'vetoed'), []);
  });

  test('the webhook plugin reports deploys and failures', async () => {
    const deployed = webhook.events.find((e) => e.app === 'first' && e.event === 'deployed');
    assert.ok(deployed, JSON.stringify(webhook.events));
    assert.equal(deployed.release, 1);
    const failed = webhook.events.find((e) => e.app === 'checked' && e.event === 'failed');
    assert.ok(failed);
    assert.deepEqual((failed.failure as { stage: string }).stage, 'check');
  });
});
