// berth's own port over HTTPS as users meet it: git pushes that trust the certificate as the
// README says (and fail with git's own error when they do not), a CLI that refuses a server it
// cannot verify before sending the token, berth login pinning a self-signed certificate like an
// ssh host key, the operator's own certificate of a private CA, and --insecure-http on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { AppRepo, pushedApp, remoteHead } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, berthJson } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { gitWithoutTrust } from '../support/git-trust.js';
import { getThroughNginx } from '../support/http.js';
import { installedBerth } from '../support/installed.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import type { StatusInfo } from '../../src/model/api.js';
import { normalizeFingerprint } from '../../src/model/tls.js';

const run = promisify(execFile);
const APP = 'secured';
const HOST = `${APP}.localhost`;
const OTHER_FINGERPRINT = Array(32).fill('5A').join(':');

const temporaryDirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}
after(() => Promise.all(temporaryDirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

async function fingerprintOfFile(certFile: string): Promise<string> {
  const { stdout } = await run('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', certFile]);
  return normalizeFingerprint(stdout)!;
}

/** git in the app's checkout with an environment of the test's choosing; never throws. */
function gitWith(repo: AppRepo, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('git', args, { cwd: repo.dir, env });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The CLI as a user runs it who has set nothing but where berth's login config lives. */
function withNothingSet(configHome: string, extra: Record<string, string> = {}): Record<string, string> {
  return { BERTH_URL: '', BERTH_TOKEN: '', BERTH_CA: '', BERTH_DATA_DIR: path.join(configHome, 'no-local-berth'), XDG_CONFIG_HOME: configHome, ...extra };
}

describe('the git port over HTTPS with berth\'s self-signed certificate', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  let fingerprint: string;

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    fingerprint = await fingerprintOfFile(berth.caFile!);
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('berth prints the certificate\'s fingerprint at start; a git push trusting it through http.URL.sslCAInfo deploys', async () => {
    const printed = await berth.startUpOutput();
    assert.match(printed, new RegExp(`TLS: berth's self-signed certificate ${berth.caFile} for .*localhost, 127\\.0\\.0\\.1, ::1, valid until`));
    assert.match(printed, new RegExp(`TLS: SHA-256 fingerprint ${fingerprint}`));
    assert.match(berth.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const { stdout } = await run('git', ['config', '--global', `http.${berth.url}/.sslCAInfo`]);
    assert.equal(stdout.trim(), berth.caFile, 'the tests\' git trusts it the way the README says');
    repo = await pushedApp(berth.remote(APP), { 'version.txt': 'v1\n' });
    assert.match((await getThroughNginx(berth.httpPort, HOST)).body, /Hello from v1/);
    const status = await berthJson<StatusInfo>(berth, ['status']);
    assert.deepEqual({ ...status.berth.gitPortTls, notAfter: undefined }, { certificateFile: berth.caFile, fingerprint, origin: 'self-signed', notAfter: undefined, acme: null }, 'berth status says which certificate the git port serves');
    assert.match((await berthCli(berth, ['status'])).stdout, new RegExp(`git and API: +port ${berth.gitPort}, HTTPS, certificate ${berth.caFile}, SHA-256 ${fingerprint}`));
  });

  test('a git push that does not trust the certificate fails with git\'s certificate error, and nothing changes', async () => {
    const branch = await remoteHead(berth.remote(APP));
    await repo.commit({ 'version.txt': 'v2\n' }, 'untrusted');
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => gitWith(repo, ['push', berth.remote(APP), 'main'], gitWithoutTrust()));
    const push = watched.result;
    assert.notEqual(push.code, 0, push.output);
    assert.match(push.output, /server certificate verification failed|SSL certificate problem/);
    assert.equal(await remoteHead(berth.remote(APP)), branch, 'main did not move');
    assert.match((await getThroughNginx(berth.httpPort, HOST)).body, /Hello from v1/);
    await recordReliability({
      area: 'Hostile and broken input',
      fault: 'git push over HTTPS from a git that does not trust berth\'s self-signed certificate',
      berthDid: `git refused the connection itself before sending the token ("${/server certificate verification failed|SSL certificate problem/.exec(push.output)![0]}"); nothing was pushed and the live release stayed`,
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
  });

  test('the CLI refuses, with exit 3 and what to do, a self-signed certificate nothing vouches for, another berth\'s, and one other than the pinned', async () => {
    const configHome = await tempDir('berth-test-config-');
    const otherCa = path.join(configHome, 'other.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=other', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(configHome, 'other.key'), '-out', otherCa]);
    await fs.mkdir(path.join(configHome, 'berth'));
    await fs.writeFile(path.join(configHome, 'berth', 'config.json'), JSON.stringify({ url: berth.url, servers: { [berth.url]: { fingerprint: OTHER_FINGERPRINT, token: berth.token } } }));
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => ({
      untrusted: await berthCli(berth, ['apps:list'], { BERTH_CA: '' }),
      wrongCa: await berthCli(berth, ['apps:list'], { BERTH_CA: otherCa }),
      changed: await berthCli(berth, ['apps:list'], withNothingSet(configHome)),
    }));
    const { untrusted, wrongCa, changed } = watched.result;
    assert.equal(untrusted.code, 3, untrusted.stderr);
    assert.match(untrusted.stderr, new RegExp(`the certificate of ${berth.url} is not trusted: it is self-signed \\(SHA-256 fingerprint ${fingerprint}\\); nothing was sent`));
    assert.match(untrusted.stderr, new RegExp(`compare the fingerprint with the one berth serve printed at start and pin it: berth login ${berth.url}`));
    assert.equal(wrongCa.code, 3, wrongCa.stderr);
    assert.match(wrongCa.stderr, new RegExp(`is not trusted: .*BERTH_CA \\(${otherCa}\\) is the only CA trusted`, 's'));
    assert.equal(changed.code, 3, changed.stderr);
    assert.match(changed.stderr, new RegExp(`the certificate of ${berth.url} has changed since berth login pinned it: it now has SHA-256 fingerprint ${fingerprint}, the pinned one is ${OTHER_FINGERPRINT}`));
    assert.match(changed.stderr, new RegExp(`someone may be intercepting the connection, or berth got a new certificate.*berth login ${berth.url}`, 's'));
    await recordReliability({
      area: 'Hostile and broken input',
      fault: 'the CLI meets a certificate it cannot verify: berth\'s self-signed one without BERTH_CA or a pin, one signed by another CA than BERTH_CA, one other than the fingerprint pinned by berth login (a man in the middle)',
      berthDid: 'refused each before sending the token (exit 3), naming the fingerprint presented (and the pinned one) and what to do: compare it with the one berth serve printed, berth login URL, or BERTH_CA',
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
  });

  test('an http:// URL to the HTTPS port (a BERTH_URL from before) is unreachable (exit 3), saying to use https://', async () => {
    const plain = berth.url.replace(/^https:/, 'http:');
    const result = await berthCli(berth, ['apps:list'], { BERTH_URL: plain });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, new RegExp(`cannot reach berth at ${plain}`));
    assert.match(result.stderr, new RegExp(`berth serves HTTPS on its git port unless started with --insecure-http: use ${berth.url}`));
  });

  test('berth login pins the certificate (asked on a terminal, or --fingerprint), saves the token; the commands after need nothing set', async () => {
    const configHome = await tempDir('berth-test-config-');
    const scripted = await berthCli(berth, ['login', berth.url], withNothingSet(configHome, { BERTH_TOKEN: berth.token }));
    assert.equal(scripted.code, 2, scripted.stderr);
    assert.match(scripted.stderr, new RegExp(`cannot ask you to confirm the certificate of ${berth.url} \\(stdin is not a terminal\\): it is self-signed, SHA-256 fingerprint ${fingerprint}`));
    assert.match(scripted.stderr, /berth login .* --fingerprint SHA256/);
    const wrong = await berthCli(berth, ['login', berth.url, '--fingerprint', OTHER_FINGERPRINT], withNothingSet(configHome, { BERTH_TOKEN: berth.token }));
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, new RegExp(`has SHA-256 fingerprint ${fingerprint}, not the ${OTHER_FINGERPRINT} given with --fingerprint; nothing was saved`));
    await assert.rejects(fs.access(path.join(configHome, 'berth', 'config.json')), 'nothing was saved');

    const pinned = await berthCli(berth, ['login', berth.url, '--fingerprint', fingerprint.replace(/:/g, '').toLowerCase()], withNothingSet(configHome, { BERTH_TOKEN: berth.token }));
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.match(pinned.stdout, new RegExp(`Pinned its certificate, SHA-256 ${fingerprint}`));
    assert.match(pinned.stdout, /Token: checked against the server and saved/);
    const configFile = path.join(configHome, 'berth', 'config.json');
    assert.equal((await fs.stat(configFile)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await fs.readFile(configFile, 'utf8')), { url: berth.url, servers: { [berth.url]: { fingerprint, token: berth.token } } });
    const listed = await berthCli(berth, ['apps:list'], withNothingSet(configHome));
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${APP}\\s`, 'm'));
  });

  test('berth login on a terminal shows the fingerprint and asks before it pins', async () => {
    const configHome = await tempDir('berth-test-config-');
    const env = { ...process.env, ...withNothingSet(configHome, { BERTH_TOKEN: berth.token }) };
    const child = spawn('script', ['-qec', `${installedBerth()} login ${berth.url}`, '/dev/null'], { env });
    let shown = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const before = shown;
      shown += chunk.toString();
      if (!/\[y\/N\]/.test(before) && /\[y\/N\]/.test(shown)) child.stdin.write('y\n');
    });
    const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));
    assert.equal(code, 0, shown);
    assert.match(shown, /is not vouched for by a CA this client trusts \(it is self-signed\)/);
    assert.match(shown, new RegExp(`SHA-256 +${fingerprint}`));
    assert.match(shown, /Trust this certificate and pin it for this server\? \[y\/N\]/);
    assert.match(shown, new RegExp(`Pinned its certificate, SHA-256 ${fingerprint}`));
  });

  test('the git command berth login prints makes git trust the server: a push with only that deploys', async () => {
    const configHome = await tempDir('berth-test-config-');
    const login = await berthCli(berth, ['login', berth.url, '--fingerprint', fingerprint, '--json'], withNothingSet(configHome));
    assert.equal(login.code, 0, login.stderr);
    const result = JSON.parse(login.stdout) as { gitConfig: string; certificateFile: string; tokenSaved: boolean };
    assert.equal(result.tokenSaved, false);
    assert.equal(await fs.readFile(result.certificateFile, 'utf8'), await fs.readFile(berth.caFile!, 'utf8'), 'it saved the certificate berth serves');
    const gitConfig = path.join(configHome, 'gitconfig');
    const env = { ...gitWithoutTrust(), GIT_CONFIG_GLOBAL: gitConfig };
    const [command, ...args] = result.gitConfig.split(' ');
    assert.equal(command, 'git');
    await run(command, args, { env });
    await repo.commit({ 'version.txt': 'v3\n' }, 'trusted as berth login says');
    const push = await gitWith(repo, ['push', berth.remote(APP), 'main'], env);
    assert.equal(push.code, 0, push.output);
    assert.match(push.output, /Done: secured release \d+ deployed/);
    assert.match((await getThroughNginx(berth.httpPort, HOST)).body, /Hello from v3/);
  });
});

/** A private CA and a certificate it signed for 127.0.0.1 and localhost, as an operator's own PKI makes them. */
async function privateCa(dir: string): Promise<{ ca: string; cert: string; key: string; otherKey: string }> {
  const file = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=Test Private CA', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
  await run('openssl', ['req', ...ec, '-subj', '/CN=berth.internal', '-keyout', file('berth.key'), '-out', file('berth.csr')]);
  await fs.writeFile(file('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', file('berth.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', file('ext.cnf'), '-out', file('berth.pem')]);
  await run('openssl', ['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', file('other.key')]);
  for (const key of ['berth.key', 'other.key', 'ca.key']) await fs.chmod(file(key), 0o600);
  return { ca: file('ca.pem'), cert: file('berth.pem'), key: file('berth.key'), otherKey: file('other.key') };
}

describe('the operator\'s own certificate (--tls-cert, --tls-key) from a private CA', () => {
  let berth: BerthInstance;
  let pki: Awaited<ReturnType<typeof privateCa>>;
  let repo: AppRepo | undefined;

  before(async () => {
    await ensureTestBaseImage();
    pki = await privateCa(await tempDir('berth-test-pki-'));
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('a key that is not the certificate\'s is refused at start (exit 2), naming both files', async () => {
    const dataDir = await tempDir('berth-test-');
    const failed = await run(installedBerth(), ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1', '--tls-cert', pki.cert, '--tls-key', pki.otherKey], { env: { ...process.env, BERTH_TOKEN: 'test-token-0123456789abcdef' } }).then(
      () => assert.fail('berth serve started'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 2, failed.stderr);
    assert.match(failed.stderr, new RegExp(`the key in --tls-key ${pki.otherKey} is not the key of the certificate in --tls-cert ${pki.cert}`));
    await assert.rejects(fs.access(path.join(dataDir, 'run', 'url')), 'nothing listened');
  });

  test('berth serves the certificate given; the CLI verifies it with BERTH_CA, login pins nothing, git pushes with the CA as http.sslCAInfo', async () => {
    berth = await startBerth({ args: ['--tls-cert', pki.cert, '--tls-key', pki.key], caFile: pki.ca });
    const fingerprint = await fingerprintOfFile(pki.cert);
    const printed = await berth.startUpOutput();
    assert.match(printed, new RegExp(`TLS: the certificate of --tls-cert ${pki.cert}, issued by CN=Test Private CA, for localhost, 127\\.0\\.0\\.1`));
    assert.match(printed, new RegExp(`TLS: SHA-256 fingerprint ${fingerprint}`));
    await assert.rejects(fs.access(path.join(berth.dataDir, 'tls', 'cert.pem')), 'no self-signed certificate was made');
    const served = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: berth.gitPort, ca: berth.ca }, () => resolve(socket)).once('error', reject);
    });
    assert.ok(served.authorized, String(served.authorizationError));
    assert.equal(served.getPeerCertificate().fingerprint256, fingerprint);
    served.destroy();
    const listed = await berthCli(berth, ['apps:list']);
    assert.equal(listed.code, 0, listed.stderr);
    const configHome = await tempDir('berth-test-config-');
    const login = await berthCli(berth, ['login', berth.url], withNothingSet(configHome, { BERTH_CA: pki.ca, BERTH_TOKEN: berth.token }));
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /Its certificate is signed by a CA this client trusts: nothing pinned/);
    assert.match(login.stdout, new RegExp(`git config --global http\\.${berth.url}/\\.sslCAInfo ${pki.ca}`));
    repo = await pushedApp(berth.remote(APP));
    assert.match((await getThroughNginx(berth.httpPort, HOST)).body, /Hello from/);
  });
});

describe('--insecure-http', () => {
  let berth: BerthInstance;
  let repo: AppRepo | undefined;
  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('is refused with a --listen that is not loopback (exit 2), saying the token would cross in clear', async () => {
    const dataDir = await tempDir('berth-test-');
    const failed = await run(installedBerth(), ['serve', '--data-dir', dataDir, '--insecure-http', '--listen', '0.0.0.0'], { env: { ...process.env, BERTH_TOKEN: 'test-token-0123456789abcdef' } }).then(
      () => assert.fail('berth serve started'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 2, failed.stderr);
    assert.match(failed.stderr, /--insecure-http is refused with --listen 0\.0\.0\.0: every request carries the token, which would cross the network in clear/);
    assert.match(failed.stderr, /serve HTTPS \(the default/);
  });

  test('serves plain HTTP on loopback and warns at start; the CLI here and git work without a certificate', async () => {
    berth = await startBerth({ args: ['--insecure-http'] });
    assert.match(berth.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const printed = await berth.startUpOutput();
    assert.match(printed, /over plain HTTP/);
    assert.match(printed, /WARNING: --insecure-http: the git port speaks plain HTTP\. The token and every push cross the connection in clear\./);
    await assert.rejects(fs.access(path.join(berth.dataDir, 'run', 'fingerprint')));
    const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: berth.dataDir, BERTH_TOKEN: berth.token, XDG_CONFIG_HOME: await tempDir('berth-test-config-') };
    delete env.BERTH_URL;
    delete env.BERTH_CA;
    const { stdout, stderr } = await run(installedBerth(), ['apps:list'], { env });
    assert.match(stdout, /No apps yet/);
    assert.equal(stderr, '', 'no warning on loopback');
    assert.equal((await berthJson<StatusInfo>(berth, ['status'])).berth.gitPortTls, null);
    repo = await AppRepo.create();
    const push = await gitWith(repo, ['push', berth.remote(APP), 'main'], gitWithoutTrust());
    assert.equal(push.code, 0, push.output);
    assert.match(push.output, /Done: secured release 1 deployed/);
  });
});
