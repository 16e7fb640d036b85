// The git port as git, curl and a browser meet it: every push is answered, even of a ref that
// is no branch; a change to the API comes as JSON from berth's own clients, never as a form or
// from another site's page; and the token is printed in full once, and never taken as a flag.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pushedApp, remoteHead, type AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { installedBerth } from '../support/installed.js';
import { recordReliability, whileServing } from '../support/reliability.js';

const run = promisify(execFile);
const APP = 'gated';
const HOST = `${APP}.localhost`;
// Today's push takes about 2 s; a push that is never answered is what this bounds.
const PUSH_ANSWERED_WITHIN_MS = 30_000;

/** curl as an operator (or a script) would run it; resolves with the status and the body. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...args]);
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

describe('the git port: pushes answered, changes only as JSON from berth\'s own clients', () => {
  let berth: BerthInstance;
  let repo: AppRepo;

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    repo = await pushedApp(berth.remote(APP), { 'version.txt': 'v1\n' });
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('a push of a ref that is no branch (refs/for/main) is answered at once, saying which refs deploy', { timeout: PUSH_ANSWERED_WITHIN_MS + 10_000 }, async () => {
    const branch = await remoteHead(berth.remote(APP));
    await repo.commit({ 'version.txt': 'v2\n' }, 'for review');
    const started = Date.now();
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => {
      const push = repo.push(berth.remote(APP), 'HEAD:refs/for/main');
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the push of refs/for/main was not answered')), PUSH_ANSWERED_WITHIN_MS).unref());
      return Promise.race([push, timeout]);
    });
    const seconds = (Date.now() - started) / 1000;
    const push = watched.result;
    assert.notEqual(push.code, 0, push.output);
    assert.match(push.output, /berth deploys gated from the main or master branch only; refs\/for\/main is not a branch/);
    assert.match(push.output, /Push a branch to main: git push deploy HEAD:main/);
    assert.match(push.output, /\[remote rejected\] HEAD -> refs\/for\/main/);
    assert.equal(await remoteHead(berth.remote(APP)), branch, 'main did not move');
    assert.match((await getThroughNginx(berth.httpPort, HOST)).body, /Hello from v1/);
    await recordReliability({
      area: 'Hostile and broken input',
      fault: 'git push of a ref that is no branch (HEAD:refs/for/main), which berth never answered before',
      berthDid: `refused in ${seconds.toFixed(1)} s by the pre-receive hook: "refs/for/main is not a branch ... Push a branch to main: git push deploy HEAD:main"; main and the live release stayed`,
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
  });

  test('a first push to an app whose APP.DOMAIN another app answers to is refused, naming that app', async () => {
    const added = await curl([...berth.curlTrust, '-u', `berth:${berth.token}`, '-H', 'content-type: application/json', '--data', '{"domain": "taken.localhost"}', `${berth.url}/api/apps/${APP}/domains`]);
    assert.equal(added.status, 200, added.body);
    const push = await repo.push(berth.remote('taken'));
    assert.notEqual(push.code, 0, push.output);
    assert.match(push.output, /cannot create taken: its host name taken\.localhost already belongs to app gated/);
    await assert.rejects(fs.access(path.join(berth.dataDir, 'apps', 'taken')), 'no app was made');
    assert.match((await getThroughNginx(berth.httpPort, 'taken.localhost')).body, /Hello from v1/, 'the host name still reaches gated');
  });

  test('a change sent as a form, as text or from a page of another origin is refused, and nothing changes', async () => {
    const base = berth.url;
    const auth = [...berth.curlTrust, '-u', `berth:${berth.token}`];
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => {
      const refusals = [
        { why: 'a form', args: [...auth, '-X', 'POST', '--data', 'set[PWNED]=1', `${base}/api/apps/${APP}/config`], status: 415, said: /needs Content-Type: application\/json, not application\/x-www-form-urlencoded/ },
        { why: 'text', args: [...auth, '-H', 'content-type: text/plain', '--data', '{"set": {"PWNED": "1"}}', `${base}/api/apps/${APP}/config`], status: 415, said: /needs Content-Type: application\/json, not text\/plain/ },
        { why: 'no body type at all', args: [...auth, '-X', 'POST', `${base}/api/apps/${APP}/ps/stop`], status: 415, said: /POST \/api\/apps\/gated\/ps\/stop needs Content-Type: application\/json/ },
        { why: 'JSON from another site', args: [...auth, '-H', 'content-type: application/json', '-H', 'origin: https://evil.example', '--data', '{"set": {"PWNED": "1"}}', `${base}/api/apps/${APP}/config`], status: 403, said: /requests from web pages of another origin \(https:\/\/evil\.example\) are refused/ },
        { why: 'a pack posted as a form', args: [...auth, '-H', 'content-type: text/plain', '--data', '0000', `${base}/${APP}.git/git-receive-pack`], status: 415, said: /a push is a POST of application\/x-git-receive-pack-request/ },
      ];
      for (const { why, args, status, said } of refusals) {
        const answer = await curl(args);
        assert.equal(answer.status, status, `${why}: ${answer.body}`);
        assert.match(answer.body, said, why);
      }
      return refusals.length;
    });
    const config = await curl([...auth, `${base}/api/apps/${APP}/config`]);
    assert.deepEqual(JSON.parse(config.body), { config: {} });
    const info = JSON.parse((await curl([...auth, `${base}/api/apps/${APP}`])).body) as { app: { stopped: boolean } };
    assert.equal(info.app.stopped, false);
    const json = await curl([...auth, '-H', 'content-type: application/json', '--data', '{}', `${base}/api/apps/${APP}/checks/enable`]);
    assert.equal(json.status, 200, `a JSON change from curl is taken: ${json.body}`);
    await recordReliability({
      area: 'Hostile and broken input',
      fault: 'API changes with the token but sent as a form, as text/plain, with no type, or as JSON with a foreign Origin; a pack posted as text/plain (what a web page can make a browser send)',
      berthDid: `refused all ${watched.result}: 415 naming Content-Type: application/json (a push: application/x-git-receive-pack-request), 403 for the foreign Origin; nothing changed`,
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
  });
});

describe('berth serve and its token', () => {
  let dataDir: string;
  let berth: BerthInstance | undefined;

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-token-'));
  });

  after(async () => {
    await berth?.destroy();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('a generated token is printed in full at the first start only; later starts print it masked, with where it is', async () => {
    berth = await startBerth({ dataDir, env: { BERTH_TOKEN: '' } });
    const token = (await fs.readFile(path.join(dataDir, 'token'), 'utf8')).trim();
    const first = await berth.startUpOutput();
    assert.match(first, new RegExp(`push with: git remote add deploy https://berth:${token}@`));
    assert.match(first, /token generated and stored in .*\/token \(0600\); this is the only time berth prints it in full/);
    const { instance, gitPort, httpPort, httpsPort } = berth;
    await berth.stopServer();
    berth = await startBerth({ dataDir, instance, gitPort, httpPort, httpsPort, env: { BERTH_TOKEN: '' } });
    const again = await berth.startUpOutput();
    assert.ok(!again.includes(token), `the second start printed the token:\n${again}`);
    assert.match(again, new RegExp(`push with: git remote add deploy https://berth:${token.slice(0, 4)}\\*+@<this-host>:${gitPort}/APP\\.git \\(the token is in ${dataDir}/token\\)`));
    const cmdline = (await fs.readFile(`/proc/${berth.pid}/cmdline`, 'utf8')).split('\0');
    assert.ok(!cmdline.some((arg) => arg.includes(token)), 'ps does not show the token');
  });

  test('berth serve --token is refused, naming BERTH_TOKEN and --token-file', async () => {
    const failed = await run(installedBerth(), ['serve', '--data-dir', dataDir, '--token', 'a-token-on-the-command-line']).then(
      () => assert.fail('berth serve --token started'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 2, failed.stderr);
    assert.match(failed.stderr, /berth does not take the token on the command line, where every local user can read it \(ps\)/);
    assert.match(failed.stderr, /set BERTH_TOKEN, or put the token in a file \(chmod 600\) and pass --token-file FILE/);
  });
});
