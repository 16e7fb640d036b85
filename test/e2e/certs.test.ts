// HTTPS for apps through berth serve, the installed CLI and the real nginx, with pebble as the
// ACME server (offline). What berth refuses runs on any build; what needs the edge to serve a
// certificate (issue 12's edge: one nginx with certificates in memory, --https-port) runs once
// berth serve has --https-port, and is skipped before, saying so.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import tls from 'node:tls';
import type { CertificateInfo, StatusInfo } from '../../src/model/api.js';
import { AppRepo } from '../support/app.js';
import { startBerth, stopNginxTier, type BerthInstance } from '../support/berth.js';
import { getThroughNginx } from '../support/http.js';
import { makeCa, makeCertificate } from '../support/certificates.js';
import { berthCli, berthJson } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { installedBerth } from '../support/installed.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { freePort } from '../support/ports.js';
import { recordReliability, whileServing } from '../support/reliability.js';

const run = promisify(execFile);
const APP = 'shop';
const DOMAIN = 'shop.example.com';
const SERVER_NAME = 'push.example.com';

/** The fingerprint of what the git port serves for SERVER_NAME once pebble's root verifies it and it is not `other`; waits up to 40 s. */
async function waitForGitPortCertificate(port: number, rootFile: string, other: string | undefined, output: () => string): Promise<string> {
  const ca = await fs.readFile(rootFile, 'utf8');
  const deadline = Date.now() + 40_000;
  for (;;) {
    const seen = await new Promise<{ authorized: boolean; fingerprint: string }>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: SERVER_NAME, ca, rejectUnauthorized: false }, () => {
        resolve({ authorized: socket.authorized, fingerprint: socket.getPeerCertificate().fingerprint256 });
        socket.destroy();
      });
      socket.once('error', reject);
    });
    if (seen.authorized && seen.fingerprint !== other) return seen.fingerprint;
    if (Date.now() > deadline) throw new Error(`the git port never served a certificate from pebble for ${SERVER_NAME}${other ? ` other than ${other}` : ''}; berth said:\n${output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}


async function files(entries: Record<string, string>): Promise<{ dir: string; file(name: string): string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-certs-'));
  for (const [name, content] of Object.entries(entries)) await fs.writeFile(path.join(dir, name), content);
  return { dir, file: (name) => path.join(dir, name) };
}

/** berth serve, run as a user would, expected to refuse to start. */
function serveRefused(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(installedBerth(), ['serve', ...args], { env: { ...process.env, BERTH_TOKEN: 'test-token-0123456789abcdef', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

describe('certificates through berth serve: what is refused, and the app serves on', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  let pem: Awaited<ReturnType<typeof files>>;

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    repo = await AppRepo.create();
    const push = await repo.push(berth.remote(APP));
    assert.equal(push.code, 0, push.output);
    assert.equal((await berthCli(berth, ['domains:add', APP, DOMAIN])).code, 0);
    const ca = await makeCa();
    const fits = await makeCertificate([DOMAIN], { ca });
    const other = await makeCertificate([DOMAIN], { ca });
    const expired = await makeCertificate([DOMAIN], { days: -1 });
    const elsewhere = await makeCertificate(['www.example.com']);
    pem = await files({
      'fullchain.pem': fits.chainPem,
      'key.pem': fits.keyPem,
      'other-key.pem': other.keyPem,
      'reversed.pem': ca.certPem + fits.certPem,
      'expired.pem': expired.certPem,
      'expired-key.pem': expired.keyPem,
      'elsewhere.pem': elsewhere.certPem,
      'elsewhere-key.pem': elsewhere.keyPem,
      'notes.txt': 'not a certificate\n',
    });
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
    if (pem) await fs.rm(pem.dir, { recursive: true, force: true });
  });

  test('certs:add refuses what does not fit, naming what to fix, stores nothing, and the app serves on', async () => {
    const attempts: Array<[string[], RegExp]> = [
      [['--cert', pem.file('notes.txt'), '--key', pem.file('key.pem')], /--cert is not a PEM certificate chain/],
      [['--cert', pem.file('key.pem'), '--key', pem.file('fullchain.pem')], /are --cert and --key swapped\?/],
      [['--cert', pem.file('fullchain.pem'), '--key', pem.file('other-key.pem')], /the key does not belong to the certificate \(for shop\.example\.com\)/],
      [['--cert', pem.file('reversed.pem'), '--key', pem.file('key.pem')], /the key belongs to certificate 2 of the chain, not the first/],
      [['--cert', pem.file('expired.pem'), '--key', pem.file('expired-key.pem')], /the certificate expired on \d{4}-/],
      [['--cert', pem.file('elsewhere.pem'), '--key', pem.file('elsewhere-key.pem')], /the certificate does not cover shop\.example\.com \(it is for www\.example\.com\)/],
      [['--cert', pem.file('missing.pem'), '--key', pem.file('key.pem')], /cannot read --cert .*missing\.pem: no such file/],
      [['--key', pem.file('key.pem')], /certs:add needs --cert FILE/],
    ];
    const watched = await whileServing({ httpPort: berth.httpPort, host: `${APP}.localhost` }, async () => {
      for (const [args, error] of attempts) {
        const added = await berthCli(berth, ['certs:add', APP, ...args]);
        assert.equal(added.code, 2, `${args.join(' ')}: ${added.stdout}`);
        assert.match(added.stderr, error);
      }
      return 'refused each with a usage error naming the problem (not PEM, swapped files, a key of another certificate, the chain in the wrong order, expired, a host name not covered, no such file); stored nothing';
    });
    await recordReliability({ area: 'Hostile and broken input', fault: 'certs:add with a certificate or key that does not fit', berthDid: watched.result, served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
    assert.equal(await fs.stat(path.join(berth.dataDir, 'certs', APP)).catch(() => undefined), undefined, 'nothing stored for the app');
    const unknown = await berthCli(berth, ['certs:add', 'nope', '--cert', pem.file('fullchain.pem'), '--key', pem.file('key.pem')]);
    assert.equal(unknown.code, 4);
  });

  test('certs:info of an app without one, certs:remove of none, certs:auto of an app with only .localhost names, bad proxy:set values', async () => {
    const info = await berthCli(berth, ['certs:info', APP]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /auto: +off\nstate: +no certificate/);
    assert.match(info.stdout, /redirect-https: +on\nhsts: +off/);
    const removed = await berthCli(berth, ['certs:remove', APP]);
    assert.equal(removed.code, 1);
    assert.match(removed.stderr, /shop has no certificate/);
    assert.equal((await berthCli(berth, ['apps:create', 'local'])).code, 0);
    const auto = await berthCli(berth, ['certs:auto', 'local']);
    assert.equal(auto.code, 1);
    assert.match(auto.stderr, /local has no host name a certificate authority can validate \(local\.localhost: names under \.localhost never leave this machine\)/);
    assert.match(auto.stderr, /berth domains:add local shop\.example\.com/);
    for (const [args, error] of [
      [['hsts', 'maybe'], /hsts must be on or off, got "maybe"/],
      [['gzip', 'on'], /"gzip" is not a proxy setting/],
    ] as const) {
      const set = await berthCli(berth, ['proxy:set', APP, ...args]);
      assert.equal(set.code, 2, set.stdout);
      assert.match(set.stderr, error);
    }
    assert.equal((await berthCli(berth, ['proxy:set', 'nope', 'hsts', 'on'])).code, 4);
  });

  test('berth serve refuses an ACME directory that is not https:// and a CA file it cannot read, before it starts anything', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-'));
    try {
      const plain = await serveRefused(['--data-dir', dataDir, '--acme-directory', 'http://acme.example.com/dir']);
      assert.equal(plain.code, 2, plain.output);
      assert.match(plain.output, /--acme-directory "http:\/\/acme\.example\.com\/dir" is not an https:\/\/ URL/);
      const missing = await serveRefused(['--data-dir', dataDir, '--git-port', String(await freePort())], { BERTH_ACME_CA_FILE: '/nonexistent/ca.pem' });
      assert.equal(missing.code, 1, missing.output);
      assert.match(missing.output, /cannot read BERTH_ACME_CA_FILE \/nonexistent\/ca\.pem/);
      assert.equal(await fs.stat(path.join(dataDir, 'nginx')).catch(() => undefined), undefined, 'no nginx was started');
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** curl as a user runs it against the edge's HTTPS, trusting only pebble's root, with `host` resolving to this machine. */
async function curlHttps(pebble: Pebble, httpsPort: number, host: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['--silent', '--show-error', '--fail', '--cacert', await pebble.rootFile(), '--resolve', `${host}:${httpsPort}:127.0.0.1`, ...args, `https://${host}:${httpsPort}/`]);
  return stdout;
}

describe('HTTPS through the edge, with certificates from pebble', () => {
  let berth: BerthInstance;
  let pebble: Pebble;
  let repo: AppRepo;
  let httpsPort: number;

  async function startBerthWithAcme(dataDir?: string): Promise<BerthInstance> {
    return startBerth({
      dataDir,
      instance: berth?.instance,
      httpPort: pebble.httpPort,
      gitPort: berth?.gitPort,
      args: ['--https-port', String(httpsPort), '--acme-directory', pebble.directoryUrl, '--acme-email', 'ops@example.com'],
      env: { BERTH_ACME_CA_FILE: pebble.caFile },
    });
  }

  before(async () => {
    await ensureTestBaseImage();
    httpsPort = await freePort();
    // 30 s certificates: each renews 20 s into its life, so the suite sees renewals happen.
    pebble = await startPebble({ httpPort: await freePort(), validitySeconds: 30 });
    berth = await startBerthWithAcme();
    repo = await AppRepo.create();
    assert.equal((await repo.push(berth.remote(APP))).code, 0);
    assert.equal((await berthCli(berth, ['domains:add', APP, DOMAIN])).code, 0);
  });

  after(async () => {
    await berth?.destroy();
    await pebble?.stop();
    await repo?.remove();
  });

  test('certs:auto: pebble validates through the edge, and https:// serves the app over HTTP/2 with a certificate curl verifies', async () => {
    const auto = await berthCli(berth, ['certs:auto', APP]);
    assert.equal(auto.code, 0, auto.stderr + auto.stdout);
    assert.match(auto.stdout, /shop\.example\.com: validated \(http-01\)/);
    const body = await curlHttps(pebble, httpsPort, DOMAIN);
    assert.match(body, /^Hello from v1 host=shop\.example\.com.* proto=https /);
    const version = await curlHttps(pebble, httpsPort, DOMAIN, '--http2', '--output', '/dev/null', '--write-out', '%{http_version}');
    assert.equal(version, '2');
  });

  test('plain HTTP answers 308 to https (ACME challenges excepted); redirect-https off serves both; hsts on adds the header', async () => {
    // fetch() sends its own Host header whatever it is given; undici's request sends ours.
    const plain = await getThroughNginx(berth.httpPort, DOMAIN, '/path?q=1');
    assert.equal(plain.status, 308);
    assert.match(String(plain.headers.location ?? ''), /^https:\/\/shop\.example\.com(:\d+)?\/path\?q=1$/);
    const challenge = await getThroughNginx(berth.httpPort, DOMAIN, '/.well-known/acme-challenge/none');
    assert.notEqual(challenge.status, 308, 'challenges are answered over plain HTTP');
    assert.equal((await berthCli(berth, ['proxy:set', APP, 'redirect-https', 'off'])).code, 0);
    const both = await getThroughNginx(berth.httpPort, DOMAIN);
    assert.equal(both.status, 200);
    assert.equal((await berthCli(berth, ['proxy:set', APP, 'hsts', 'on'])).code, 0);
    const headers = await curlHttps(pebble, httpsPort, DOMAIN, '--head');
    assert.match(headers, /strict-transport-security: max-age=\d+/i);
  });

  test('certs:add installs your own certificate; certs:remove stops serving it', async () => {
    const blog = 'blog';
    assert.equal((await repo.push(berth.remote(blog))).code, 0, 'the edge serves the certificates of apps it routes');
    assert.equal((await berthCli(berth, ['domains:add', blog, 'blog.example.com'])).code, 0);
    const issued = await makeCertificate(['blog.example.com']);
    const pemFiles = await files({ 'cert.pem': issued.chainPem, 'key.pem': issued.keyPem });
    try {
      const added = await berthCli(berth, ['certs:add', blog, '--cert', pemFiles.file('cert.pem'), '--key', pemFiles.file('key.pem')]);
      assert.equal(added.code, 0, added.stderr);
      const { stdout } = await run('curl', ['--silent', '--show-error', '--fail', '--cacert', pemFiles.file('cert.pem'), '--resolve', `blog.example.com:${httpsPort}:127.0.0.1`, '--output', '/dev/null', '--write-out', '%{ssl_verify_result}', `https://blog.example.com:${httpsPort}/`]).catch((error: { stdout: string }) => error);
      assert.equal(stdout, '0', 'the self-signed certificate is what the edge serves');
      assert.equal((await berthCli(berth, ['certs:remove', blog])).code, 0);
      await assert.rejects(run('curl', ['--silent', '--fail', '--insecure', '--resolve', `blog.example.com:${httpsPort}:127.0.0.1`, `https://blog.example.com:${httpsPort}/`]), 'no certificate for the name: the handshake fails');
    } finally {
      await fs.rm(pemFiles.dir, { recursive: true, force: true });
    }
  });

  test('after berth and nginx were stopped, berth hands the certificate to the edge again at start', async () => {
    const dataDir = berth.dataDir;
    await berth.stopServer();
    for (const tier of await fs.readdir(path.join(dataDir, 'nginx')).catch(() => [] as string[])) await stopNginxTier(path.join(dataDir, 'nginx', tier, 'run', 'nginx.pid'));
    berth = await startBerthWithAcme(dataDir);
    assert.match(await curlHttps(pebble, httpsPort, DOMAIN), /^Hello from v1/);
  });

  test('the app\'s certificate renews twice while it serves under keep-alive load: nothing fails, nginx is never reloaded', async () => {
    // redirect-https is off since the test before, so the load over plain HTTP reaches the app.
    const notAfter = async () => (await berthJson<CertificateInfo>(berth, ['certs:info', APP])).certificate!.notAfter;
    const first = await notAfter();
    const watched = await whileServing({ httpPort: berth.httpPort, host: DOMAIN }, async () => {
      const deadline = Date.now() + 50_000;
      const seen = new Set([first]);
      while (seen.size < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        seen.add(await notAfter());
        assert.match(await curlHttps(pebble, httpsPort, DOMAIN), /^Hello from v1/);
      }
      assert.equal(seen.size, 3, 'renewed twice');
      return 'renewed the certificate twice through setCertificate, HTTPS verified all along';
    });
    await recordReliability({ area: 'Certificates', fault: 'the app\'s certificate renewed twice while it serves', berthDid: watched.result, served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
  });

  test('--server-name: the git port gets its certificate from pebble through the edge, serves it from the next connection, and renews it; git verifies it by the CA, the local CLI follows', async () => {
    const dataDir = berth.dataDir;
    await berth.stopServer();
    berth = await startBerth({ dataDir, instance: berth.instance, httpPort: pebble.httpPort, gitPort: berth.gitPort, httpsPort, args: ['--https-port', String(httpsPort), '--acme-directory', pebble.directoryUrl, '--server-name', SERVER_NAME], env: { BERTH_ACME_CA_FILE: pebble.caFile } });
    const root = await pebble.rootFile();
    const first = await waitForGitPortCertificate(berth.gitPort, root, undefined, () => berth.output());
    assert.match(berth.output(), new RegExp(`the git port serves its certificate from ACME from now on: SHA-256 fingerprint ${first}`));
    // The CLI on this machine (nothing set) verifies by the fingerprint berth rewrote in its data dir.
    const local = await run(installedBerth(), ['status', '--json'], { env: { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_URL: '', BERTH_TOKEN: berth.token, BERTH_CA: '', XDG_CONFIG_HOME: dataDir } });
    const tls = (JSON.parse(local.stdout) as StatusInfo).berth.gitPortTls!;
    assert.deepEqual([tls.origin, tls.fingerprint, tls.acme?.serverName, tls.acme?.state], ['acme', first, SERVER_NAME, 'valid']);
    await repo.commit({ 'version.txt': 'v2\n' }, 'pushed to the ACME name');
    const remote = `https://berth:${berth.token}@${SERVER_NAME}:${berth.gitPort}/${APP}.git`;
    await repo.git('-c', `http.curloptResolve=${SERVER_NAME}:${berth.gitPort}:127.0.0.1`, '-c', `http.sslCAInfo=${root}`, 'push', '-q', remote, 'main');
    assert.match(await curlHttps(pebble, httpsPort, DOMAIN), /^Hello from v2/);
    // pebble's 30 s certificates renew 20 s into their life.
    const renewed = await waitForGitPortCertificate(berth.gitPort, root, first, () => berth.output());
    assert.notEqual(renewed, first);
    assert.equal((await run(installedBerth(), ['apps:list'], { env: { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_URL: '', BERTH_TOKEN: berth.token, BERTH_CA: '', XDG_CONFIG_HOME: dataDir } })).stdout.includes(APP), true);
  });
});
