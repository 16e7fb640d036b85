// app.json healthchecks as Dokku writes them, through real pushes, Docker and nginx: a startup
// check with content gates the push (and CHECKS beside it is ignored, saying so); a worker whose
// command check fails never goes live; a liveness check that starts failing after the deploy gets
// the container restarted by berth, shown in berth status, and nginx still reaches it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { AppRepo, pushedApp } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { refusedAtCheckStage } from '../support/check-stage.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import type { StatusInfo } from '../../src/model/api.js';

const docker = new Docker();

function appJson(healthchecks: unknown): string {
  return `${JSON.stringify({ name: 'sample', healthchecks }, null, 2)}\n`;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('app.json healthchecks', () => {
  let berth: BerthInstance;
  const repos: AppRepo[] = [];

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
  });

  after(async () => {
    await berth?.destroy();
    for (const repo of repos) await repo.remove();
  });

  /** Pushes the repo's next commit with `files` while the live app is under load; expects it refused at the check stage, nothing live changing. */
  async function refusedAtChecks(app: string, repo: AppRepo, files: Record<string, string>, fault: string, reason: RegExp, stage = 'check'): Promise<string> {
    return (await refusedAtCheckStage(berth, app, repo, fault, () => repo.commit(files, fault), reason, stage)).output;
  }

  test('a startup check with content passes the push; CHECKS beside app.json is ignored and the pusher reads so', async () => {
    const app = 'hc-web';
    // The sample app has a CHECKS file too: app.json's checks take its place.
    const repo = await AppRepo.create({ 'app.json': appJson({ web: [{ type: 'startup', name: 'health page', path: '/health', content: 'ok', attempts: 3, wait: 1 }] }) });
    repos.push(repo);
    const push = await repo.push(berth.remote(app));
    assert.equal(push.code, 0, push.output);
    assert.match(push.output, /CHECKS is ignored: app\.json has healthchecks for web/);
    assert.match(push.output, /app\.json: 1 startup check\(s\) for web/);
    assert.match(push.output, /\[1\/3\] GET \/health: ok, 200, found "ok" \(\d+ ms\)/);
    assert.doesNotMatch(push.output, /CHECKS: \d+ check/);
    assert.match((await getThroughNginx(berth.httpPort, `${app}.localhost`)).body, /Hello from v1/);

    const output = await refusedAtChecks(app, repo, { 'version.txt': 'v2\n', 'app.json': appJson({ web: [{ path: '/health', content: 'Goodbye', attempts: 2, wait: 1, timeout: 2 }] }) }, 'app.json startup check whose content the new release does not have', /check GET \/health \(app\.json healthchecks\.web\[0\]\) failed: answered 200 but the body does not contain "Goodbye"/);
    assert.match(output, /\[2\/2\] GET \/health: failed, answered 200 but the body does not contain "Goodbye"/);
    assert.match((await getThroughNginx(berth.httpPort, `${app}.localhost`)).body, /Hello from v1/);
  });

  test('an app.json that is not JSON, or has a check type berth does not know, fails the push where berth first reads it (the release stage, before any container starts) naming the field', async () => {
    const app = 'hc-web';
    const repo = repos[0];
    await refusedAtChecks(app, repo, { 'app.json': '{"healthchecks": {"web": [' }, 'app.json that is not JSON', /app\.json: is not JSON/, 'release');
    await refusedAtChecks(app, repo, { 'app.json': appJson({ web: [{ type: 'warmup', path: '/health' }] }) }, 'app.json healthcheck of an unknown type', /app\.json healthchecks\.web\[0\]\.type: "warmup" is not a check type berth knows: startup, readiness, liveness/, 'release');
  });

  test('a worker whose command check fails (inside its container) fails the deploy; the release before keeps running', async () => {
    const app = 'hc-worker';
    const workerChecks = (command: string[]) => appJson({ worker: [{ type: 'startup', command, attempts: 2, wait: 1, timeout: 5 }] });
    const repo = await pushedApp(berth.remote(app), { Procfile: 'worker: node /app/worker.js\n', 'app.json': workerChecks(['/bin/sh', '-c', 'test -f /app/worker.js']) });
    repos.push(repo);
    const scaled = await berthCli(berth, ['ps:scale', app, 'worker=1']);
    assert.equal(scaled.code, 0, scaled.stdout + scaled.stderr);
    assert.match(scaled.stdout, /\[1\/2\] command \["\/bin\/sh","-c","test -f \/app\/worker\.js"\]: ok, exited 0/);
    const output = await refusedAtChecks(app, repo, { 'version.txt': 'v2\n', 'app.json': workerChecks(['/bin/sh', '-c', 'echo queue unreachable; exit 3']) }, 'worker whose app.json command check exits non-zero', /check command \["\/bin\/sh","-c","echo queue unreachable; exit 3"\] \(app\.json healthchecks\.worker\[0\]\) failed: exited 3: queue unreachable/);
    assert.match(output, /Removed the new container/);
    const containers = await docker.listContainers({ filters: { label: [`berth.instance=${berth.instance}`, `berth.app=${app}`] } });
    assert.deepEqual(containers.map((c) => c.Labels['berth.release']).sort(), ['2', '2'], 'web and worker of release 2 (the scale) run; nothing of the failed release');
  });

  test('a liveness check that starts failing after the deploy gets the container restarted by berth, shown in berth status; nginx still reaches it', async () => {
    const app = 'hc-live';
    // Each start clears the mark, so the restart is what makes the container healthy again.
    const files = {
      Procfile: 'web: rm -f /tmp/sick; exec node /app/server.js\n',
      'app.json': appJson({ web: [{ type: 'startup', path: '/health', content: 'ok' }, { type: 'liveness', name: 'not sick', command: ['/bin/sh', '-c', 'test ! -e /tmp/sick'], attempts: 2, wait: 1, timeout: 3 }] }),
    };
    const repo = await pushedApp(berth.remote(app), files);
    repos.push(repo);
    const status = async () => JSON.parse((await berthCli(berth, ['status', '--json'])).stdout) as StatusInfo;
    const web = async () => (await status()).apps.find((a) => a.name === app)!.containers.find((c) => c.process === 'web')!;
    await waitFor('the liveness check to pass', async () => ((await web()).liveness?.state === 'passing' ? true : undefined));
    const logged = berth.output().length;
    const watched = await whileServing({ httpPort: berth.httpPort, host: `${app}.localhost` }, async () => {
      const container = docker.getContainer((await web()).name);
      const exec = await container.exec({ Cmd: ['/bin/sh', '-c', 'touch /tmp/sick'] });
      await exec.start({ hijack: true, stdin: false }).then((stream) => new Promise((resolve) => (stream.on('end', resolve), stream.resume())));
      return waitFor('berth to restart the container', async () => {
        const now = await web();
        return now.liveness?.restarts === 1 && now.liveness.state === 'passing' ? now : undefined;
      }).catch(async (error: Error) => {
        throw new Error(`${error.message}; berth status shows ${JSON.stringify(await web())}; berth printed:\n${berth.output().slice(logged)}`);
      });
    });
    const restarted = watched.result;
    assert.match(berth.output().slice(logged), new RegExp(`hc-live: ${restarted.name} failed its liveness check command .* \\[2/2\\]`));
    assert.match(berth.output().slice(logged), new RegExp(`hc-live: restarted ${restarted.name} \\(restart 1 by berth\\)`));
    const shown = await berthCli(berth, ['status']);
    assert.match(shown.stdout, /Liveness checks:/);
    assert.match(shown.stdout, new RegExp(`${restarted.name}\\s+passing\\s+0\\s+1\\s+command`));
    const inspected = await docker.getContainer(restarted.name).inspect();
    const address = Object.values(inspected.NetworkSettings.Networks)[0].IPAddress;
    await waitFor('berth to record where the restarted container is', async () => ((await web()).ip === address ? true : undefined));
    assert.equal((await getThroughNginx(berth.httpPort, `${app}.localhost`)).status, 200);
    await recordReliability({
      area: 'Apps that break while live',
      fault: 'app.json liveness check fails after the deploy (2 attempts, 1 s apart)',
      berthDid: `restarted the container through the engine after 2 failures in a row (berth status: restarts by berth 1, passing again), nginx reached it at ${address} afterwards`,
      served: watched.served,
      lost: watched.failures.length,
      whyLost: 'the app has one web container: while it restarts, nothing can answer its requests.',
    });
  });
});
