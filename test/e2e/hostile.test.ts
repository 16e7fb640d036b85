import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import zlib from 'node:zlib';
import Docker from 'dockerode';
import { AppRepo, remoteHead, type FileChange, type PushResult } from '../support/app.js';
import { basicAuthorization, startBerth, type BerthInstance } from '../support/berth.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import { childPids } from '../../src/host/processes.js';

const docker = new Docker();
const APP = 'steady';
const HOST = `${APP}.localhost`;
// Small limits, so that every bound is reached in seconds; a normal deploy here takes about 2 s.
const LIMITS = { listen: 4, keepReleases: 2, keepDeployLogs: 3 };
const TIME_LIMITS = { build: 8, deploy: 20 };
const BAD_APP_DOCKERFILE = 'FROM berth-test/node:20\nCOPY . /app\nCMD ["node", "/app/bad.js"]\n';

/** Everything a refused input must leave as it was. */
interface LiveState {
  release: number;
  branch: string | undefined;
  containers: string[];
  /** The edge's route table, as berth last wrote it (what nginx holds in memory). */
  routes: string;
  edgeWorkers: number[];
  body: string;
}

interface ApiAnswer {
  status: number;
  body: { error?: string; hint?: string } & Record<string, unknown>;
}

/**
 * The app `steady`, live on a berth of its own started with `args`, and what the tests do to it.
 * Registers the starting and the clean-up with the suite it is called in.
 */
function useSteadyApp(args: string[]) {
  let berth: BerthInstance;
  let repo: AppRepo;
  let liveCommit: string;
  let version = 1;

  const appDir = () => path.join(berth.dataDir, 'apps', APP);

  async function edgeWorkers(): Promise<number[]> {
    const master = Number((await fs.readFile(path.join(berth.dataDir, 'nginx', 'edge', 'run', 'nginx.pid'), 'utf8')).trim());
    return (await childPids(master)).sort();
  }

  async function liveState(): Promise<LiveState> {
    const record = JSON.parse(await fs.readFile(path.join(appDir(), 'app.json'), 'utf8')) as { live: { release: number } };
    const containers = await docker.listContainers({ all: true, filters: { label: [`berth.instance=${berth.instance}`, `berth.app=${APP}`] } });
    return {
      release: record.live.release,
      branch: await remoteHead(berth.remote(APP)),
      containers: containers.map((c) => c.Id).sort(),
      routes: await fs.readFile(path.join(berth.dataDir, 'nginx', 'edge', 'private', 'routes'), 'utf8'),
      edgeWorkers: await edgeWorkers(),
      body: (await getThroughNginx(berth.httpPort, HOST)).body,
    };
  }

  function rawGitStatus(rawPath: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: berth.gitPort, path: rawPath, headers: { authorization: berth.authorization }, ca: berth.ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  }

  async function api(method: string, urlPath: string, body?: unknown, authorization = berth.authorization): Promise<ApiAnswer> {
    const response = await berth.fetch(urlPath, {
      method,
      headers: { ...(authorization ? { authorization } : {}), 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: ApiAnswer['body'];
    try {
      parsed = JSON.parse(text) as ApiAnswer['body'];
    } catch {
      parsed = { error: text };
    }
    return { status: response.status, body: parsed };
  }

  /**
   * Runs `attempt` while clients keep requesting the app through nginx, then checks that the
   * live release, the branch, the containers, both nginx configs and workers are as they were,
   * and that no request failed. `attempt` returns what berth did, for docs/reliability.md.
   */
  async function changesNothing(fault: string, attempt: () => Promise<string>, area = 'Hostile and broken input'): Promise<void> {
    const before = await liveState();
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, attempt);
    assert.deepEqual(await liveState(), before, `${fault}: something live changed`);
    await recordReliability({ area, fault, berthDid: watched.result, served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, [], `${fault}: requests failed`);
  }

  /**
   * Pushes a commit of `files` on top of the live one and expects the push to be refused at
   * `stage` with output matching every pattern, within `withinSeconds`. The local branch goes
   * back to the live commit, as a developer would fix and push again.
   */
  async function pushRefused(fault: string, files: Record<string, FileChange>, stage: string, patterns: RegExp[], withinSeconds: number): Promise<string> {
    let output = '';
    await changesNothing(fault, async () => {
      const started = Date.now();
      const push = await pushOnce(files, fault);
      const seconds = (Date.now() - started) / 1000;
      output = push.output;
      assert.notEqual(push.code, 0, `${fault}: the push was accepted:\n${output}`);
      assert.match(output, new RegExp(`failed at the ${stage} stage`), output);
      for (const pattern of patterns) assert.match(output, pattern);
      assert.match(output, /Nothing changed: release \d+ is still serving steady/);
      assert.ok(seconds < withinSeconds, `${fault}: refused after ${seconds.toFixed(1)} s, expected under ${withinSeconds} s`);
      const reason = /failed at the \w+ stage: (.*)/.exec(output)![1].replace(/^remote:\s*/, '').trim();
      return `push refused at the ${stage} stage after ${seconds.toFixed(1)} s: "${reason}"`;
    });
    return output;
  }

  /** Pushes a commit of `files` on top of the live one; the local branch goes back to the live commit. */
  async function pushOnce(files: Record<string, FileChange>, message: string): Promise<PushResult> {
    await repo.commit({ 'version.txt': `v${++version}\n`, ...files }, message);
    const push = await repo.push(berth.remote(APP));
    await repo.resetTo(liveCommit);
    return push;
  }

  async function pushAccepted(files: Record<string, FileChange>, message: string): Promise<string> {
    liveCommit = await repo.commit({ 'version.txt': `v${++version}\n`, ...files }, message);
    const push = await repo.push(berth.remote(APP));
    assert.equal(push.code, 0, push.output);
    return push.output;
  }

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth({ args });
    repo = await AppRepo.create({ 'version.txt': 'v1\n', CHECKS: '/health ok\n' });
    liveCommit = (await repo.git('rev-parse', 'HEAD')).trim();
    const first = await repo.push(berth.remote(APP));
    assert.equal(first.code, 0, first.output);
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  return {
    get berth() {
      return berth;
    },
    appDir,
    liveState,
    api,
    rawGitStatus,
    changesNothing,
    pushOnce,
    pushRefused,
    pushAccepted,
  };
}

describe('hostile and broken input: a clear error, within a bounded time, and nothing live changes', () => {
  const app = useSteadyApp([
    '--listen-timeout', String(LIMITS.listen),
    '--keep-releases', String(LIMITS.keepReleases),
    '--keep-deploy-logs', String(LIMITS.keepDeployLogs),
  ]);
  test('git and API requests without the token or with a wrong one get 401 and change nothing', async () => {
    await app.changesNothing('git and API requests without the token, with a wrong one, or a malformed Authorization header', async () => {
      const receivePack = `/${APP}.git/git-receive-pack`;
      const wrong = basicAuthorization('berth:not-the-token-0123456789');
      const tooLong = basicAuthorization(`berth:${app.berth.token}${'x'.repeat(5000)}`);
      for (const authorization of [undefined, wrong, tooLong, 'Basic !!!', `Bearer ${app.berth.token}`, basicAuthorization(app.berth.token)]) {
        const git = await app.berth.fetch(receivePack, { method: 'POST', headers: authorization ? { authorization } : {}, body: '0000' });
        assert.equal(git.status, 401, `git with ${authorization}`);
        assert.match(git.headers.get('www-authenticate') ?? '', /^Basic realm="berth"/);
        assert.match(await git.text(), /a valid token is needed/);
        const answer = await app.api('POST', `/api/apps/${APP}/config`, { set: { PWNED: '1' } }, authorization ?? '');
        assert.equal(answer.status, 401, `API with ${authorization}`);
        assert.match(answer.body.hint ?? '', /BERTH_TOKEN/);
      }
      assert.deepEqual((await app.api('GET', `/api/apps/${APP}/config`)).body.config, {});
      return '401 with WWW-Authenticate for every one (6 kinds of bad credentials, git and API); the token is compared in constant time (sha-256 of both, timingSafeEqual)';
    });
    const tokenFile = await fs.stat(path.join(app.berth.dataDir, 'token')).catch(() => undefined);
    // The test berth gets its token from BERTH_TOKEN, so it stores none; a stored one is 0600 (unit test).
    assert.equal(tokenFile, undefined);
  });

  test('app names that would escape the data dir or inject config are refused, by git and by the API', async () => {
    const names = ['..', '../../etc', 'UPPER', 'has space', 'semi;colon', 'a'.repeat(64), '-leading', 'x$(id)', '%2e%2e%2fetc'];
    const stateDirs = async () => [...(await fs.readdir(path.join(app.berth.dataDir, 'apps'))), ...(await fs.readdir(path.join(app.berth.dataDir, 'repos')))];
    const before = await stateDirs();
    await app.changesNothing('app names: .., ../../etc, upper case, spaces, ;, $(id), 64 characters, percent-encoded ../', async () => {
      for (const name of names) {
        // Sent as written: fetch would resolve the dot segments before berth saw them.
        const status = await app.rawGitStatus(`/${name.replace(/ /g, '%20')}.git/info/refs?service=git-receive-pack`);
        assert.ok([400, 404].includes(status), `git ${name}: ${status}`);
        const created = await app.api('POST', '/api/apps', { name: decodeURIComponent(name) });
        assert.equal(created.status, 400, `API ${name}: ${JSON.stringify(created.body)}`);
        assert.match(created.body.error ?? '', /is not a valid app name \(lower-case letters, digits and hyphens/);
      }
      assert.equal((await app.api('GET', '/api/apps/%E0%A4%A/config')).status, 400, 'malformed percent-encoding is bad input, not a server error');
      return `refused with 400 and the naming rule (${names.length} names, each through git and the API); malformed percent-encoding is a 400; no app or repository appeared`;
    });
    assert.deepEqual(await stateDirs(), before);
  });

  test('domains that would inject nginx config are refused and the edge config is untouched', async () => {
    const domains = ['evil.com; include /etc/passwd', 'a.com\nserver {', 'x.com}', '*.example.com', 'exa mple.com', `${'a'.repeat(64)}.com`, `${'abc.'.repeat(70)}com`, '', 'ünïcode.com', 'a..com'];
    await app.changesNothing('domains:add with ;, braces, a newline, a wildcard, a space, a 64-character label, 283 characters, non-ASCII', async () => {
      for (const domain of domains) {
        const answer = await app.api('POST', `/api/apps/${APP}/domains`, { domain });
        assert.equal(answer.status, 400, `${JSON.stringify(domain)}: ${JSON.stringify(answer.body)}`);
        assert.match(answer.body.error ?? '', /is not a valid host name/);
      }
      assert.equal((await app.api('DELETE', `/api/apps/${APP}/domains/${encodeURIComponent('x;y')}`)).status, 404);
      return `refused with 400 "not a valid host name" (${domains.length} inputs); the edge config and its workers stayed as they were`;
    });
  });

  test('bad config keys, NUL bytes, oversized values and bad request bodies are refused before anything runs', async () => {
    await app.changesNothing('config keys with -, spaces, $( ), a leading digit; values with a NUL byte or over 32 KiB; PORT=abc; bodies that are not JSON objects or over 1 MiB', async () => {
      const refused: Record<string, unknown>[] = [
        { set: { 'A-B': '1' } },
        { set: { 'A B': '1' } },
        { set: { '$(touch /tmp/berth-pwned)': '1' } },
        { set: { '1ABC': '1' } },
        { set: { GOOD: 'a\0b' } },
        { set: { BIG: 'v'.repeat(33 * 1024) } },
        { set: { PORT: 'abc' } },
        { set: { PORT: '70000' } },
        { unset: ['not valid'] },
        { set: { N: 5 } },
        {},
      ];
      for (const body of refused) {
        const answer = await app.api('POST', `/api/apps/${APP}/config`, body);
        assert.equal(answer.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(answer.body)}`);
        assert.ok(answer.body.error, JSON.stringify(answer.body));
      }
      for (const body of ['not json', '[1,2]', 'null', `{"set": {"A": "${'x'.repeat(1024 * 1024)}"}}`]) {
        assert.equal((await app.api('POST', `/api/apps/${APP}/config`, body)).status, 400, body.slice(0, 40));
      }
      assert.equal((await app.api('POST', `/api/apps/${APP}/scale`, { formation: { web: 0 } })).status, 400);
      assert.equal((await app.api('POST', `/api/apps/${APP}/scale`, { formation: { web: 1000 } })).status, 400);
      assert.equal((await app.api('POST', `/api/apps/${APP}/scale`, { formation: { 'we;b': 1 } })).status, 400);
      assert.deepEqual((await app.api('GET', `/api/apps/${APP}/config`)).body.config, {});
      return `refused with 400 naming the key or the rule (${refused.length + 7} requests), before any release was made; the config stayed empty`;
    });
    await assert.rejects(fs.access('/tmp/berth-pwned'));
  });

  test('config values with shell and nginx syntax reach the app verbatim, through a lossless restart', async () => {
    const value = '$(touch /tmp/berth-pwned); `id` | rm -rf / ; } proxy_pass http://evil; "quoted" \'single\' \\ end';
    const watched = await whileServing({ httpPort: app.berth.httpPort, host: HOST }, async () => {
      const answer = await app.berth.fetch(`/api/apps/${APP}/config`, {
        method: 'POST',
        headers: { authorization: app.berth.authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ set: { TRICKY: value } }),
      });
      assert.equal(answer.status, 200);
      assert.match(await answer.text(), /"ok":true/);
    });
    assert.equal((await getThroughNginx(app.berth.httpPort, HOST, '/env/TRICKY')).body, value);
    await assert.rejects(fs.access('/tmp/berth-pwned'));
    await recordReliability({
      area: 'Hostile and broken input',
      fault: 'a config value holding $( ), backticks, ;, }, quotes and an nginx directive',
      berthDid: 'stored it and passed it to the container as one environment variable, never through a shell or nginx; the restart was lossless',
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
    await app.api('POST', `/api/apps/${APP}/config`, { unset: ['TRICKY'] });
  });

  test('a CHECKS file that is huge, binary, has an unknown directive or a host with nginx syntax is refused, naming the line', async () => {
    await app.pushRefused('CHECKS of 70 KiB', { CHECKS: `# ${'padding '.repeat(9000)}\n/health ok\n` }, 'check', [/CHECKS is larger than 65536 bytes/], 15);
    await app.pushRefused('CHECKS that is binary (NUL bytes)', { CHECKS: Buffer.from([0x2f, 0x00, 0x01, 0xff, 0x0a]).toString('latin1') }, 'check', [/CHECKS looks binary \(it contains a NUL byte\); save it as plain UTF-8 text/], 15);
    await app.pushRefused('CHECKS with an unknown directive (RETRIES=3)', { CHECKS: 'RETRIES=3\n/health ok\n' }, 'check', [/CHECKS line 1: unknown directive RETRIES=3 \(known: WAIT, TIMEOUT, ATTEMPTS\)/, /fix CHECKS \(see CHECKS\.example\)/], 15);
    await app.pushRefused('CHECKS line whose host carries nginx syntax (//evil;host/)', { CHECKS: '/health ok\n//evil;host{}/ x\n' }, 'check', [/CHECKS line 2: "evil;host\{\}" is not a valid host/], 15);
  });

  test('a CHECKS file with CRLF line ends and a byte order mark is read like LF', async () => {
    const watched = await whileServing({ httpPort: app.berth.httpPort, host: HOST }, () => app.pushAccepted({ CHECKS: '\ufeffTIMEOUT=3\r\n/health ok\r\n/ Hello\r\n' }, 'CRLF CHECKS'));
    assert.match(watched.result, /CHECKS: 2 check\(s\), up to 5 attempt\(s\) each, 3 s timeout/);
    assert.match(watched.result, /GET \/: ok, 200, found "Hello"/);
    await recordReliability({ area: 'Hostile and broken input', fault: 'CHECKS with CRLF line ends and a UTF-8 byte order mark', berthDid: 'read it like LF: both checks ran and passed, and the release went live', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
  });

  test('a CHECKS file committed as a symbolic link to a host file is read as the link, never the host file', async () => {
    const watched = await whileServing({ httpPort: app.berth.httpPort, host: HOST }, () => app.pushAccepted({ CHECKS: { symlinkTo: '/etc/passwd' } }, 'CHECKS links to /etc/passwd'));
    // The link's own text, "/etc/passwd", is one check path, which the sample app answers.
    assert.match(watched.result, /CHECKS: 1 check\(s\)/);
    assert.match(watched.result, /GET \/etc\/passwd: ok, 200/);
    assert.doesNotMatch(watched.result, /root:/);
    await recordReliability({
      area: 'Hostile and broken input',
      fault: 'CHECKS committed as a symbolic link to /etc/passwd',
      berthDid: 'read it from git as the link itself: its text "/etc/passwd" became one check path against the app; the host file was never opened',
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
    await app.pushAccepted({ CHECKS: '/health ok\n' }, 'CHECKS back to a file');
  });

  test('a check answer that never ends is cut at 1 MiB, not buffered whole', async () => {
    const output = await app.pushRefused(
      'a check answer that never ends (an endless body), and the expected text is not in its first 1 MiB',
      { CHECKS: 'ATTEMPTS=1\n/endless begin\n/endless needle\n' },
      'check',
      [/GET \/endless: ok, 200, found "begin"/, /the first 1 MiB of the body \(the rest was not read\) does not contain "needle"/],
      15,
    );
    const rss = /VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${app.berth.pid}/status`, 'utf8'));
    assert.ok(rss && Number(rss[1]) < 512 * 1024, `berth's resident memory is ${rss?.[1]} kB`);
    assert.doesNotMatch(output, /no answer within/);
  });

  test('an app that crash-loops, never listens, listens on the wrong port or on loopback only fails the deploy naming the cause', async () => {
    const dockerfile = { Dockerfile: BAD_APP_DOCKERFILE };
    const crashing = await app.pushRefused(
      'an app that crash-loops (exits 3 after 200 ms)',
      { ...dockerfile, 'bad.js': "console.log('starting'); setTimeout(() => { console.error('cannot reach the database'); process.exit(3); }, 200);\n" },
      'check',
      [/the container (restarted \d+ time\(s\)|exited with code 3) before it accepted connections on port 5000/],
      15,
    );
    assert.match(crashing, /cannot reach the database/, 'the pusher sees the last output of the crashing container');
    await app.pushRefused(
      'an app that never listens',
      { ...dockerfile, 'bad.js': 'setInterval(() => {}, 1000);\n' },
      'check',
      [new RegExp(`nothing accepted connections on [\\d.]+:5000 within ${LIMITS.listen} s: nothing in the container listens on any TCP port`)],
      LIMITS.listen + 12,
    );
    await app.pushRefused(
      'an app that listens on the wrong port (8080 instead of $PORT)',
      { ...dockerfile, 'bad.js': "require('http').createServer((q, s) => s.end('ok')).listen(8080, '0.0.0.0');\n" },
      'check',
      [/the app listens on port 8080 instead of \$PORT \(5000\)/, /berth config:set APP PORT=8080/],
      LIMITS.listen + 12,
    );
    await app.pushRefused(
      'an app that listens on 127.0.0.1 only',
      { ...dockerfile, 'bad.js': "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, '127.0.0.1');\n" },
      'check',
      [/the app listens on 127\.0\.0\.1:5000 only, which nothing outside its container can reach/, /listen on 0\.0\.0\.0:\$PORT/],
      LIMITS.listen + 12,
    );
  });

  test('an app that answers too slowly fails its checks within TIMEOUT x ATTEMPTS', async () => {
    await app.pushRefused('an app that answers slowly (10 s; TIMEOUT=1, ATTEMPTS=2)', { CHECKS: 'TIMEOUT=1\nATTEMPTS=2\n/slow?ms=10000 slow\n' }, 'check', [/\[1\/2\] GET \/slow\?ms=10000: failed, no answer within 1 s/, /\[2\/2\] GET \/slow\?ms=10000: failed, no answer within 1 s/], 15);
  });


  test('old images, the images of failed releases, containers and deploy logs are pruned', async () => {
    // An image berth built for a release it never recorded as served, as a crash mid-deploy leaves.
    const leftover = { repo: `${app.berth.instance}/${APP}`, tag: '9999' };
    await docker.getImage(`${app.berth.instance}/${APP}:${(await app.liveState()).release}`).tag(leftover);
    const watched = await whileServing({ httpPort: app.berth.httpPort, host: HOST }, async () => {
      await app.pushAccepted({}, 'one more good release');
      await app.pushAccepted({}, 'and another');
    });
    const images = await docker.listImages({ filters: { label: [`berth.instance=${app.berth.instance}`, `berth.app=${APP}`] } });
    const tags = images.flatMap((i) => i.RepoTags ?? []).sort();
    const live = (await app.liveState()).release;
    assert.equal(tags.length, LIMITS.keepReleases, `kept images: ${tags.join(', ')}`);
    assert.ok(tags.includes(`${app.berth.instance}/${APP}:${live}`));
    assert.ok(!tags.includes(`${leftover.repo}:${leftover.tag}`));
    const containers = await docker.listContainers({ all: true, filters: { label: [`berth.instance=${app.berth.instance}`, `berth.app=${APP}`] } });
    assert.deepEqual(containers.map((c) => c.Labels['berth.release']), [String(live)]);
    const logs = (await fs.readdir(path.join(app.appDir(), 'deploys'))).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    assert.deepEqual(logs, [live - 2, live - 1, live].map((n) => `${n}.log`));
    await recordReliability({
      area: 'Bounds',
      fault: `${live} releases, most of them failed, and an image left by an interrupted deploy (--keep-releases ${LIMITS.keepReleases}, --keep-deploy-logs ${LIMITS.keepDeployLogs})`,
      berthDid: `kept ${tags.length} images (the live one and the one before), 1 container (the live one), ${logs.length} deploy logs; a failed release's image went with its failure, the leftover at the next deploy`,
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
  });

  test('a build that prints far more than a deploy log holds is stored cut, head and tail', async () => {
    const noisy = 'FROM berth-test/node:20\nCOPY . /app\nRUN node -e "for (let i = 0; i < 40000; i++) console.log(\'build line \' + i + \' \' + \'.\'.repeat(40))"\nCMD ["node", "/app/server.js"]\n';
    const watched = await whileServing({ httpPort: app.berth.httpPort, host: HOST }, () => app.pushAccepted({ Dockerfile: noisy }, 'noisy build'));
    assert.match(watched.result, /build line 39999/, 'the pusher reads every line live');
    const live = (await app.liveState()).release;
    const log = await fs.readFile(path.join(app.appDir(), 'deploys', `${live}.log`), 'utf8');
    assert.ok(Buffer.byteLength(log) <= 512 * 1024 + 4096, `${Buffer.byteLength(log)} bytes`);
    assert.match(log, /Building steady/);
    assert.match(log, /line\(s\) left out: a deploy log keeps its first and last 256 KiB/);
    assert.match(log, /Done: steady release \d+ deployed/);
    await recordReliability({
      area: 'Bounds',
      fault: 'a build that prints 40,000 lines (about 2.2 MB)',
      berthDid: `the pusher read every line; the stored deploy log kept its first and last 256 KiB (${Math.round(Buffer.byteLength(log) / 1024)} KiB) and says how many lines it left out`,
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
  });
});

// The time limits get a berth of their own: on the main one, an 8 s build limit also bounded a
// 40,000-line build that needs it all on a loaded machine (and failed CI).
describe('bounds: a build or a deploy past its time limit is stopped, naming the limit', () => {
  const app = useSteadyApp(['--build-timeout', String(TIME_LIMITS.build), '--deploy-timeout', String(TIME_LIMITS.deploy)]);
  test('a build past --build-timeout and a deploy past --deploy-timeout are stopped, naming the limit', async () => {
    await app.pushRefused(
      `a build that runs past --build-timeout (${TIME_LIMITS.build} s)`,
      { Dockerfile: 'FROM berth-test/node:20\nCOPY . /app\nRUN sleep 60\nCMD ["node", "/app/server.js"]\n' },
      'build',
      [new RegExp(`the build ran past its time limit of ${TIME_LIMITS.build} s`), /make it faster, or raise --build-timeout/],
      TIME_LIMITS.build + 8,
    );
    await app.pushRefused(
      `a deploy that runs past --deploy-timeout (${TIME_LIMITS.deploy} s; CHECKS WAIT=60)`,
      { CHECKS: 'WAIT=60\n/health ok\n' },
      'check',
      [new RegExp(`the deploy ran past its time limit of ${TIME_LIMITS.deploy} s`), /raise --deploy-timeout/],
      TIME_LIMITS.deploy + 8,
    );
  });
});

/** A pkt-line of git's protocol: four hex digits of length, then the text. */
function pktLine(text: string): string {
  return (text.length + 4).toString(16).padStart(4, '0') + text;
}

/**
 * A push request whose pack holds one blob of `inflatedBytes` zeros stored uncompressed, so git
 * would read every byte of it, sent gzip-encoded: on the wire it is a thousandth of that.
 */
function gzipInflatingPush(oldCommit: string, inflatedBytes: number, packVersion = 2): Readable {
  const commands = pktLine(`${oldCommit} ${'1'.repeat(40)} refs/heads/main\0report-status side-band-64k\n`) + '0000';
  const header = Buffer.from([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, packVersion, 0, 0, 0, 1]);
  const objectHeader = [(3 << 4) | (inflatedBytes & 0x0f) | 0x80];
  for (let rest = Math.floor(inflatedBytes / 16); rest > 0; rest = Math.floor(rest / 128)) objectHeader.push((rest & 0x7f) | (rest >= 128 ? 0x80 : 0));
  const blob = Readable.from((function* () {
    for (let sent = 0; sent < inflatedBytes; sent += 1024 * 1024) yield Buffer.alloc(Math.min(1024 * 1024, inflatedBytes - sent));
  })()).pipe(zlib.createDeflate({ level: 0 }));
  const body = Readable.from((async function* () {
    yield Buffer.from(commands);
    yield header;
    yield Buffer.from(objectHeader);
    for await (const chunk of blob) yield chunk as Buffer;
    yield Buffer.alloc(20);
  })());
  return body.pipe(zlib.createGzip());
}

describe('bounds: a push over --max-push-size is refused before anything is built', () => {
  const app = useSteadyApp(['--max-push-size', '2m']);

  test('a push whose pack is over the limit is refused as it streams, naming the app, the limit and the flag', async () => {
    await app.changesNothing('a push of 3 MiB of random data (--max-push-size 2m)', async () => {
      const push = await app.pushOnce({ 'random.txt': crypto.randomBytes(3 * 1024 * 1024).toString('base64') }, 'a large file');
      assert.notEqual(push.code, 0, push.output);
      assert.match(push.output, /the push to steady is larger than the limit of 2 MiB; it is refused and nothing changed/);
      assert.match(push.output, /raise --max-push-size \(BERTH_MAX_PUSH_SIZE\)/);
      assert.match(push.output, /! \[remote rejected\] main -> main/);
      assert.doesNotMatch(push.output, /Building steady/);
      return 'refused while the push streamed in (git read at most the limit, then the pack ended), naming the app, the limit and --max-push-size; nothing was built';
    }, 'Bounds');
  });

  /** Sends a push request body as it is, and resolves with berth's whole answer. */
  function rawPush(body: Readable): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1',
        port: app.berth.gitPort,
        ca: app.berth.ca,
        path: `/${APP}.git/git-receive-pack`,
        method: 'POST',
        headers: { authorization: app.berth.authorization, 'content-type': 'application/x-git-receive-pack-request', 'content-encoding': 'gzip' },
      }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      body.pipe(req);
    });
  }

  const liveCommit = async () => (JSON.parse(await fs.readFile(path.join(app.appDir(), 'app.json'), 'utf8')) as { live: { commit: string } }).live.commit;

  test('a gzip-encoded push body that inflates past the limit is cut where it passes the limit', async () => {
    const commit = await liveCommit();
    await app.changesNothing('a gzip-encoded push body of 60 KiB that inflates to 64 MiB (--max-push-size 2m)', async () => {
      const started = Date.now();
      const answer = await rawPush(gzipInflatingPush(commit, 64 * 1024 * 1024));
      assert.match(answer, /the push to steady is larger than the limit of 2 MiB/);
      assert.match(answer, /unpack/);
      return `cut once the inflated body passed the limit, answered with the refusal in ${((Date.now() - started) / 1000).toFixed(1)} s; berth kept running`;
    }, 'Bounds');
  });

  test('a push whose pack git refuses at once, while the rest of its body still streams in, does not end berth', async () => {
    const commit = await liveCommit();
    await app.changesNothing('a push whose pack git refuses after its first bytes (an unknown pack version) while the body goes on', async () => {
      const answer = await rawPush(gzipInflatingPush(commit, 64 * 1024 * 1024, 9));
      assert.match(answer, /pack version unsupported/);
      process.kill(app.berth.pid, 0);
      return 'git refused the pack and the rest of the body was drained; berth kept running (node-git-server\'s pipe into git had no error handler: the EPIPE ended berth)';
    }, 'Bounds');
  });

  test('a commit whose files are over the limit, though its pack is small, is refused before the build', async () => {
    await app.pushRefused(
      'a commit of 3 MiB of zeros, which git packs into a few KiB (--max-push-size 2m)',
      { 'zeros.bin': '\0'.repeat(3 * 1024 * 1024) },
      'build',
      [/the build context \(the files of commit [0-9a-f]{7}\) holds 3\.0 MiB, over the limit of 2 MiB/, /raise --max-push-size/],
      15,
    );
  });
});

/** The sample app, printing about 4 MB a second of 1 KiB lines besides. */
const CHATTY_APP = `require('./server.js');
const line = 'chatty '.repeat(146) + '\\n';
setInterval(() => { for (let i = 0; i < 40; i++) process.stdout.write(line); }, 10);
`;

async function residentKiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('bounds: berth logs -f with a client that reads slowly', () => {
  const app = useSteadyApp([]);
  const STALL_SECONDS = 15;

  test('a client that stops reading the logs of a chatty app pauses the engine stream; berth buffers nothing', async () => {
    await app.pushAccepted({ 'chatty.js': CHATTY_APP, Procfile: 'web: node /app/chatty.js\n' }, 'a chatty app');
    await app.changesNothing(`berth logs -f of an app printing about 4 MB/s, by a client that reads nothing for ${STALL_SECONDS} s`, async () => {
      const socket = tls.connect({ port: app.berth.gitPort, host: '127.0.0.1', ca: app.berth.ca });
      await new Promise((resolve) => socket.once('secureConnect', resolve));
      socket.pause();
      socket.write(`GET /api/apps/${APP}/logs?follow=1&lines=0 HTTP/1.1\r\nHost: berth\r\nAuthorization: ${app.berth.authorization}\r\n\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const before = await residentKiB(app.berth.pid);
      await new Promise((resolve) => setTimeout(resolve, STALL_SECONDS * 1000));
      const grewMiB = ((await residentKiB(app.berth.pid)) - before) / 1024;
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.resume();
      for (let i = 0; i < 100 && !/steady-web-\d+\| chatty chatty/.test(received.slice(-100_000)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      assert.match(received, /chatty chatty/, 'the stream goes on once the client reads again');
      assert.ok(grewMiB < 24, `berth's resident memory grew by ${grewMiB.toFixed(0)} MiB while the client read nothing`);
      return `paused the engine's log stream while the client was behind and went on when it read again; berth's memory grew by ${Math.max(0, grewMiB).toFixed(0)} MiB in ${STALL_SECONDS} s`;
    }, 'Bounds');
  });
});

/**
 * Hooks that misbehave as the file `mode` in their plugins folder says: an executable pre-deploy
 * that ignores SIGTERM, one that exits but leaves a child holding its output, one that prints its
 * environment, and a JS pre-deploy that never settles.
 */
async function writeMisbehavingPlugins(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'hang'), { recursive: true });
  await fs.mkdir(path.join(dir, 'stall'), { recursive: true });
  await fs.writeFile(path.join(dir, 'mode'), '');
  await fs.writeFile(path.join(dir, 'hang', 'pre-deploy'), `#!/bin/sh
case "$(cat ../mode)" in
  trap-term) trap '' TERM; echo "hang: ignoring SIGTERM"; sleep 7771; sleep 7771 ;;
  hold-output) sleep 7772 & echo "hang: exiting, a child keeps my output open"; exit 0 ;;
  print-env) env ;;
esac
`, { mode: 0o755 });
  await fs.writeFile(path.join(dir, 'stall', 'index.mjs'), `import fs from 'node:fs';
export const triggers = {
  'pre-deploy': async ({ logger }) => {
    if (fs.readFileSync(new URL('../mode', import.meta.url), 'utf8').trim() !== 'js-stall') return;
    logger.info('stall: this promise never settles');
    await new Promise(() => {});
  },
};
`);
}

async function processesRunning(pattern: string): Promise<boolean> {
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.replace(/\0/g, ' ').trim() === pattern) return true;
  }
  return false;
}

async function gone(pattern: string, withinMs: number): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; ) {
    if (!(await processesRunning(pattern))) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return !(await processesRunning(pattern));
}

describe('bounds: --deploy-timeout is a hard limit on hooks, and hooks get only the environment they need', () => {
  const DEPLOY_LIMIT = 20;
  const pluginsDir = path.join(os.tmpdir(), `berth-test-hooks-${process.pid}`);
  const setMode = (mode: string) => fs.writeFile(path.join(pluginsDir, 'mode'), mode);
  before(() => writeMisbehavingPlugins(pluginsDir));
  after(() => fs.rm(pluginsDir, { recursive: true, force: true }));
  const app = useSteadyApp(['--plugins-dir', pluginsDir, '--deploy-timeout', String(DEPLOY_LIMIT)]);
  const timedOut = [new RegExp(`the deploy ran past its time limit of ${DEPLOY_LIMIT} s`), /raise --deploy-timeout/, /Removed the new container/];

  test('an executable hook that ignores SIGTERM is killed with its process group at the limit, and the next push deploys', { timeout: 120_000 }, async () => {
    await setMode('trap-term');
    await app.pushRefused(`a pre-deploy hook that ignores SIGTERM (--deploy-timeout ${DEPLOY_LIMIT})`, {}, 'start', [...timedOut, /\(plugin hang, pre-deploy\)/, /hang: ignoring SIGTERM/, /Stopping .*pre-deploy and every process it started/], DEPLOY_LIMIT + 10);
    assert.ok(await gone('sleep 7771', 5000), 'the hook\'s sleep still runs');
    await setMode('');
    await app.pushAccepted({}, 'the app lock was released');
  });

  test('an executable hook that leaves a child holding its output is stopped at the limit, child included', { timeout: 120_000 }, async () => {
    await setMode('hold-output');
    await app.pushRefused(`a pre-deploy hook that exits 0 but leaves a child holding its stdout (--deploy-timeout ${DEPLOY_LIMIT})`, {}, 'start', [...timedOut, /\(plugin hang, pre-deploy\)/, /a child keeps my output open/], DEPLOY_LIMIT + 10);
    assert.ok(await gone('sleep 7772', 5000), 'the child the hook left still runs');
    await setMode('');
  });

  test('a JS hook that never settles is abandoned at the limit, and the next push deploys', { timeout: 120_000 }, async () => {
    await setMode('js-stall');
    await app.pushRefused(`a JS pre-deploy hook whose promise never settles (--deploy-timeout ${DEPLOY_LIMIT})`, {}, 'start', [...timedOut, /\(plugin stall, pre-deploy\)/, /stall: this promise never settles/], DEPLOY_LIMIT + 10);
    await setMode('');
    await app.pushAccepted({}, 'the app lock was released');
  });

  test('an executable hook sees PATH and the BERTH_* variables, never the token or the rest of the server\'s environment', { timeout: 120_000 }, async () => {
    await setMode('print-env');
    const output = await app.pushAccepted({}, 'a hook prints its environment');
    await setMode('');
    const names = [...output.matchAll(/^remote:\s+([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]);
    assert.ok(names.includes('PATH') && names.includes('BERTH_APP') && names.includes('BERTH_CONTAINER_ADDRESS'), names.join(' '));
    assert.doesNotMatch(output, new RegExp(app.berth.token));
    const allowed = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|DOCKER_[A-Z_]+|BERTH_[A-Z_]+|PWD|SHLVL|_|OLDPWD)$/;
    assert.deepEqual(names.filter((name) => !allowed.test(name)), [], 'variables a hook should not see');
    assert.ok(!names.includes('BERTH_TOKEN'));
  });
});
