import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { request } from 'undici';
import { pushedApp, SAMPLE_APP_DIR, type AppRepo, type PushResult } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, berthJson } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { startLoad, type LoadResult } from '../support/load.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import type { DeployReport, ReleaseInfo } from '../../src/model/api.js';

const docker = new Docker();
const APP = 'holder';
const HOST = `${APP}.localhost`;
// Long enough for any gap of a deploy here (stop, start, checks: a few seconds on a busy machine).
const HOLD_TIMEOUT = 12;

/** Which releases have a running container, as the engine says. */
async function runningReleases(instance: string): Promise<string[]> {
  const list = await docker.listContainers({ filters: { label: [`berth.instance=${instance}`, `berth.app=${APP}`] } });
  return list.map((c) => c.Labels['berth.release']).sort();
}

async function body(port: number): Promise<string> {
  return (await (await request(`http://127.0.0.1:${port}/`, { headers: { host: HOST } })).body.text()).trim();
}

/**
 * A POST on a raw connection: its headers go as soon as `headersWhen` resolves, its body a while
 * later, so that both arrive while the edge holds the request.
 */
function slowPost(port: number, bodyBytes: number, headersWhen: Promise<void>, bodyAfterMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    void headersWhen.then(() => {
      const socket = net.connect(port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('error', reject);
      socket.on('end', () => resolve(answer));
      socket.write(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${bodyBytes}\r\nConnection: close\r\n\r\n`);
      setTimeout(() => socket.write(Buffer.alloc(bodyBytes, 'p')), bodyAfterMs);
    });
  });
}

/** A push that resolves `held` once berth says the edge holds the app's requests; `times` says when it held and switched. */
function pushWatchingHold(repo: AppRepo, remote: string): { held: Promise<void>; pushed: Promise<PushResult>; times: { heldAt: number; switchedAt: number } } {
  let markHeld!: () => void;
  const held = new Promise<void>((resolve) => (markHeld = resolve));
  const times = { heldAt: 0, switchedAt: 0 };
  const pushed = repo.push(remote, 'main', (output) => {
    if (!times.heldAt && output.includes('Holding: new requests wait at the edge')) {
      times.heldAt = Date.now();
      markHeld();
    }
    if (!times.switchedAt && output.includes('now sends every new request to release')) times.switchedAt = Date.now();
  });
  return { held, pushed, times };
}

/** A berth serving release 1 (v1) of the app. */
async function servingApp(args: string[] = []): Promise<{ berth: BerthInstance; repo: AppRepo }> {
  await ensureTestBaseImage();
  const berth = await startBerth({ args });
  return { berth, repo: await pushedApp(berth.remote(APP), { 'version.txt': 'v1\n' }) };
}

async function stopServing(berth: BerthInstance | undefined, repo: AppRepo | undefined): Promise<void> {
  await berth?.destroy();
  await repo?.remove();
}

function failuresOf(results: [string, LoadResult][]): string[] {
  return results.flatMap(([name, result]) => result.failures.map((f) => `${name}: ${f.kind}`));
}

describe('stop-first deploys: the old release stops first, requests in the gap wait at the edge', () => {
  let berth: BerthInstance;
  let repo: AppRepo;

  before(async () => ({ berth, repo } = await servingApp(['--hold-timeout', String(HOLD_TIMEOUT)])));
  after(() => stopServing(berth, repo));

  test('deploy:set APP order stop-first is stored and shown by deploy:report; a wrong value is a usage error', async () => {
    assert.deepEqual(await berthJson<DeployReport>(berth, ['deploy:report', APP]), { order: 'start-first', holdTimeoutSeconds: HOLD_TIMEOUT });
    const wrong = await berthCli(berth, ['deploy:set', APP, 'order', 'sideways']);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /order must be start-first or stop-first, got "sideways"/);
    const set = await berthCli(berth, ['deploy:set', APP, 'order', 'stop-first']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /holder deploys stop-first: the old release stops before the new one starts/);
    const report = await berthCli(berth, ['deploy:report', APP]);
    assert.match(report.stdout, new RegExp(`hold timeout: ${HOLD_TIMEOUT} s`));
  });

  test('under keep-alive GET and POST load a stop-first push loses no request; a POST whose body arrives while held is served by the new release', async () => {
    // The new release takes a while to listen, so that requests surely arrive in the gap.
    const config = await berthCli(berth, ['config:set', APP, 'START_DELAY_MS=1500', '--no-restart']);
    assert.equal(config.code, 0, config.stderr);
    const loads: [string, ReturnType<typeof startLoad>][] = [
      ['GET keep-alive', startLoad({ port: berth.httpPort, host: HOST, connections: 4, method: 'GET', keepAlive: true })],
      ['POST keep-alive', startLoad({ port: berth.httpPort, host: HOST, connections: 2, method: 'POST', keepAlive: true, bodyBytes: 4096 })],
      ['GET new connection', startLoad({ port: berth.httpPort, host: HOST, connections: 1, method: 'GET', keepAlive: false })],
    ];
    await repo.commit({ 'version.txt': 'v2\n' }, 'v2');
    const started = Date.now();
    const { held, pushed, times } = pushWatchingHold(repo, berth.remote(APP));
    const post = slowPost(berth.httpPort, 3000, held, 400);
    const push = await pushed;
    const results: [string, LoadResult][] = await Promise.all(loads.map(async ([name, load]) => [name, await load.stop()] as [string, LoadResult]));
    const took = Date.now() - started;
    assert.equal(push.code, 0, push.output);
    const output = push.output;
    // The old container stopped before the new one started.
    assert.ok(output.indexOf(`Stopped ${berth.instance}_${APP}_web_1`) < output.indexOf(`Starting ${APP} web (release 2)`), output);
    assert.match(output, /Stopping holder release 1 before release 2 starts \(deploy order stop-first\)/);
    const answer = await post;
    assert.match(answer, /^HTTP\/1\.1 200/, answer);
    assert.match(answer, /v2 got 3000 bytes/, answer);
    const failures = failuresOf(results);
    const served = results.reduce((sum, [, r]) => sum + r.ok, 0);
    await recordReliability({ area: 'Deploys', fault: 'a stop-first deploy (the old release stops before the new one starts) under keep-alive GET and POST load, and a POST whose body arrives while the edge holds it', berthDid: `held the requests that arrived in the gap at the edge and served them from the new release once it passed its checks (push took ${(took / 1000).toFixed(1)} s)`, served, lost: failures.length });
    assert.deepEqual(failures, []);
    assert.ok(served > 50, `only ${served} requests were made`);
    // Release 2 took no request before the switch: one it answered that was sent well before the switch waited at the edge.
    const waited = results.flatMap(([, r]) => r.samples).filter((s) => s.release === 'v2' && s.startedAt < times.switchedAt - 300);
    assert.ok(waited.length > 0, `no request waited at the edge (held at ${times.heldAt}, switched at ${times.switchedAt})`);
    assert.ok(waited.every((s) => s.startedAt > times.heldAt - 1000), 'a request answered by release 2 was sent before the hold');
    assert.deepEqual(await runningReleases(berth.instance), ['2']);
    assert.match(await body(berth.httpPort), /^Hello from v2/);
  });

  test('a stop-first release that fails its checks starts the previous release again; no request is lost and the pusher reads what happened', async () => {
    const before = await berthJson<{ releases: ReleaseInfo[] }>(berth, ['releases', APP]);
    await repo.commit({ 'version.txt': 'v3\n', CHECKS: 'ATTEMPTS=1\n/ Goodbye\n' }, 'v3 that fails its checks');
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => repo.push(berth.remote(APP)));
    const { output, code } = watched.result;
    assert.notEqual(code, 0, output);
    assert.match(output, /Deploy of holder \(release 3\) failed at the check stage/);
    assert.match(output, /Starting holder release 2 again \(release 3 failed; deploy order stop-first\)/);
    assert.match(output, /Release 2 serves holder again: the requests held at the edge went to it\. Release 3 never served\./);
    assert.doesNotMatch(output, /Nothing changed/);
    await recordReliability({ area: 'Deploys', fault: 'a stop-first release that fails its checks, under load', berthDid: 'removed the new release, started the stopped previous release again and routed the held requests to it; the push is refused saying so', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
    assert.deepEqual(await runningReleases(berth.instance), ['2']);
    assert.match(await body(berth.httpPort), /^Hello from v2/);
    const releases = (await berthJson<{ releases: ReleaseInfo[] }>(berth, ['releases', APP])).releases;
    assert.equal(releases.length, before.releases.length + 1);
    assert.equal(releases[0].status, 'failed');
    await repo.git('reset', '-q', '--hard', 'HEAD~1');
  });

  test('berth killed in the gap of a stop-first deploy: the edge holds the requests while berth is down, and berth started again brings the stopped release back; nothing is lost', async () => {
    await repo.commit({ 'version.txt': 'v4\n' }, 'v4 (berth killed in the gap)');
    let killed = false;
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => {
      const push = await repo.push(berth.remote(APP), 'main', (output) => {
        if (!killed && /Starting holder web \(release \d+\)/.test(output)) {
          killed = true;
          process.kill(berth.pid, 'SIGKILL');
        }
      });
      assert.ok(killed, push.output);
      assert.notEqual(push.code, 0, push.output);
      berth = await startBerth({ dataDir: berth.dataDir, instance: berth.instance, httpPort: berth.httpPort, httpsPort: berth.httpsPort, gitPort: berth.gitPort, args: ['--hold-timeout', String(HOLD_TIMEOUT)] });
      return push;
    });
    await recordReliability({ area: 'Crash', fault: 'berth killed (SIGKILL) in the gap of a stop-first deploy: the old release stopped, the new one starting', berthDid: 'the edge held the requests while berth was down; berth started again, started the stopped live release, routed to it once it listened, and removed the unfinished one', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
    assert.match(await body(berth.httpPort), /^Hello from v2/);
    assert.deepEqual(await runningReleases(berth.instance), ['2']);
    await repo.git('reset', '-q', '--hard', 'HEAD~1');
  });

  test('a request held longer than --hold-timeout gets a 503 with Retry-After, and the deploy still goes live', async () => {
    const slow = berthCli(berth, ['config:set', APP, `START_DELAY_MS=${(HOLD_TIMEOUT + 4) * 1000}`]);
    // The config change is itself a stop-first release: wait for the hold, then ask.
    const deadline = Date.now() + 30_000;
    let answer: { status: number; retryAfter: string | string[] | undefined; text: string } | undefined;
    while (!answer && Date.now() < deadline) {
      const response = await request(`http://127.0.0.1:${berth.httpPort}/`, { headers: { host: HOST } });
      const text = await response.body.text();
      if (response.statusCode !== 200) answer = { status: response.statusCode, retryAfter: response.headers['retry-after'], text };
      else await new Promise((r) => setTimeout(r, 50));
    }
    const done = await slow;
    assert.equal(done.code, 0, done.stderr + done.stdout);
    assert.ok(answer, 'no request was ever held');
    assert.equal(answer.status, 503);
    assert.equal(answer.retryAfter, '5');
    assert.match(answer.text, new RegExp(`holder is being deployed \\(stop-first\\) and its new release was not serving within ${HOLD_TIMEOUT} s`));
    await recordReliability({ area: 'Bounds', fault: `a stop-first release that takes longer to start than --hold-timeout (${HOLD_TIMEOUT} s)`, berthDid: 'answered each request held that long with a 503 and Retry-After: 5 naming the app and the bound; the release went live after', served: 0, lost: 1, whyLost: 'the request waited the whole --hold-timeout: that is the bound' });
    assert.match(await body(berth.httpPort), /^Hello from v2/);
    const reset = await berthCli(berth, ['config:unset', APP, 'START_DELAY_MS']);
    assert.equal(reset.code, 0, reset.stderr);
  });
});

describe('deploy:image: an image already in the engine, through the same stages as a push', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  let context: string;
  const IMAGE = `berth-test-import/${process.pid}:1.0`;

  before(async () => {
    ({ berth, repo } = await servingApp());
    context = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-image-'));
    await fs.cp(SAMPLE_APP_DIR, context, { recursive: true });
    await fs.writeFile(path.join(context, 'version.txt'), 'from-image\n');
    // Its CHECKS in its WORKDIR, where deploy:image reads them.
    await fs.writeFile(path.join(context, 'Dockerfile'), 'FROM berth-test/node:20\nWORKDIR /app\nCOPY . /app\nCMD ["node", "/app/server.js"]\n');
    await fs.writeFile(path.join(context, 'CHECKS'), '/health ok\n/ Hello from from-image\n');
    const progress = await docker.buildImage({ context, src: ['Dockerfile', 'server.js', 'version.txt', 'CHECKS'] }, { t: IMAGE, labels: { 'berth.instance': berth.instance } });
    await new Promise((resolve, reject) => docker.modem.followProgress(progress, (error: Error | null) => (error ? reject(error) : resolve(undefined))));
  });

  after(async () => {
    await stopServing(berth, repo);
    await docker.getImage(IMAGE).remove({ force: true }).catch(() => undefined);
    if (context) await fs.rm(context, { recursive: true, force: true });
  });

  test('deploys the image losslessly, and releases shows its digest', async () => {
    const digest = (await docker.getImage(IMAGE).inspect()).Id;
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => berthCli(berth, ['deploy:image', APP, IMAGE]));
    const result = watched.result;
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, new RegExp(`Deploying image ${IMAGE.replace(/[.]/g, '\\.')} \\(${digest}\\) as holder release 2`));
    assert.match(result.stdout, /CHECKS: 2 check\(s\)/);
    assert.match(result.stdout, /GET \/: ok, 200, found "Hello from from-image"/);
    assert.match(result.stdout, /All checks passed/);
    assert.match(result.stdout, /Deployed .* to holder: release 2 is live/);
    assert.deepEqual(watched.failures, []);
    assert.match(await body(berth.httpPort), /^Hello from from-image/);
    const [release] = (await berthJson<{ releases: ReleaseInfo[] }>(berth, ['releases', APP])).releases;
    assert.equal(release.imageSource, `${IMAGE}@${digest}`);
    assert.match(release.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(release.commit, '');
    const table = await berthCli(berth, ['releases', APP]);
    assert.match(table.stdout, new RegExp(release.imageDigest!.slice(7, 19)));
    // A config change of an image release reuses its image, with no commit to read.
    const config = await berthCli(berth, ['config:set', APP, 'GREETING=hi']);
    assert.equal(config.code, 0, config.stderr + config.stdout);
    assert.match(config.stdout, /found "Hello from from-image"/, 'the image\'s CHECKS ran again');
    const checks = await berthCli(berth, ['checks:run', APP]);
    assert.equal(checks.code, 0, checks.stderr + checks.stdout);
    assert.match(checks.stdout, /found "Hello from from-image"/, 'checks:run reads the CHECKS of the live release\'s image');
    assert.match(await body(berth.httpPort), /^Hello from from-image/);
  });

  test('an image that is not in the engine (and cannot be pulled) is refused naming it, and nothing changes', async () => {
    const before = await berthJson<{ releases: ReleaseInfo[] }>(berth, ['releases', APP]);
    const missing = `berth-test-missing/${process.pid}:404`;
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => berthCli(berth, ['deploy:image', APP, missing]));
    const result = watched.result;
    assert.equal(result.code, 1, result.stderr + result.stdout);
    assert.match(result.stderr, new RegExp(`the image ${missing.replace(/[.]/g, '\\.')} is not in the Docker engine and pulling it failed`));
    assert.match(result.stderr, /nothing changed for holder/);
    await recordReliability({ area: 'Hostile and broken input', fault: 'deploy:image of an image the engine does not have (no registry reachable)', berthDid: 'tried to pull it, then refused naming the image and the engine\'s reason; no release was made', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
    assert.deepEqual((await berthJson<{ releases: ReleaseInfo[] }>(berth, ['releases', APP])).releases, before.releases);
    const bad = await berthCli(berth, ['deploy:image', APP, 'evil\nRUN rm -rf /']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /is not an image name/);
  });
});
