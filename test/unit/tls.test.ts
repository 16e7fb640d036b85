// berth's own port over HTTPS: the certificate it serves (self-signed, made once; or the
// operator's, checked), the options that choose it, and how the CLI verifies the server before
// the token goes out (a pinned fingerprint, the local berth's, or CAs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '../../src/cli/client.js';
import { presentedCertificate, TrustError, type Trust } from '../../src/cli/trust.js';
import { UsageError } from '../../src/errors.js';
import { API } from '../../src/model/api.js';
import { localFingerprintFile, localUrlFile, selfSignedFiles } from '../../src/model/local-server.js';
import { certificateNames, isLoopbackHost, normalizeFingerprint } from '../../src/model/tls.js';
import { certificateToServe, publishLocalServer } from '../../src/server/certificate.js';
import { createGitPortServer } from '../../src/server/git-port.js';
import { gitPortAnnouncement } from '../../src/server/git-port-announce.js';
import { resolveServeOptions } from '../../src/server/options.js';
import { loadOrCreateSelfSigned } from '../../src/server/self-signed.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-unit-tls-'));
  dirs.push(dir);
  return dir;
}

/** A certificate and key of someone else's making, as an operator brings them. */
function ownCertificate(dir: string, name: string): { cert: string; key: string } {
  const [cert, key] = [path.join(dir, `${name}.crt`), path.join(dir, `${name}.key`)];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

test('fingerprints are taken as users paste them and compared in one form', () => {
  const hex = 'ab'.repeat(32);
  const canonical = Array(32).fill('AB').join(':');
  for (const given of [hex, hex.toUpperCase(), canonical, canonical.toLowerCase(), `SHA256:${canonical}`, `sha256 Fingerprint=${canonical}`, ` ${hex}\n`]) {
    assert.equal(normalizeFingerprint(given), canonical, given);
  }
  for (const bad of ['', 'ab'.repeat(31), 'zz'.repeat(32), `md5:${hex}`, 'AA:BB']) assert.equal(normalizeFingerprint(bad), undefined, bad);
});

test('loopback is 127.0.0.0/8, ::1 and localhost; anything else may leave the machine', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'app.localhost', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'server', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(host), host);
});

test('a certificate\'s names are read from its subjectAltName, IPv6 addresses written short', () => {
  assert.deepEqual(certificateNames('DNS:vm, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1'), ['vm', 'localhost', '127.0.0.1', '::1']);
  assert.deepEqual(certificateNames(undefined), []);
});

describe('berth serve\'s TLS options', () => {
  const refused = (argv: string[], pattern: RegExp) => assert.throws(() => resolveServeOptions(argv, {}), (error: Error) => error instanceof UsageError && pattern.test(error.message));

  test('HTTPS by default; --insecure-http only on a loopback --listen, refused on any other address', () => {
    assert.equal(resolveServeOptions([], {}).insecureHttp, false);
    refused(['--insecure-http'], /--insecure-http is refused with --listen 0\.0\.0\.0: every request carries the token, which would cross the network in clear/);
    refused(['--insecure-http', '--listen', '10.0.0.5'], /--listen 10\.0\.0\.5/);
    assert.equal(resolveServeOptions(['--insecure-http', '--listen', '127.0.0.1'], {}).insecureHttp, true);
    assert.equal(resolveServeOptions([], { BERTH_INSECURE_HTTP: 'true', BERTH_LISTEN: '::1' }).insecureHttp, true);
  });

  test('--tls-cert and --tls-key go together, not with --insecure-http, and are taken as absolute paths', () => {
    refused(['--tls-cert', 'a.pem'], /--tls-cert and --tls-key go together \(only --tls-cert was given\)/);
    refused(['--tls-key', 'a.key'], /only --tls-key was given/);
    refused(['--insecure-http', '--listen', '127.0.0.1', '--tls-cert', 'a', '--tls-key', 'b'], /--insecure-http serves plain HTTP, so it takes no --tls-cert or --tls-key/);
    const options = resolveServeOptions([], { BERTH_TLS_CERT: 'a.pem', BERTH_TLS_KEY: 'a.key' });
    assert.equal(options.tlsCert, path.resolve('a.pem'));
    assert.equal(options.tlsKey, path.resolve('a.key'));
  });

  test('--server-name is a host name or an IP address', () => {
    assert.equal(resolveServeOptions(['--server-name', 'berth.example.com'], {}).serverName, 'berth.example.com');
    assert.equal(resolveServeOptions(['--server-name', '203.0.113.5'], {}).serverName, '203.0.113.5');
    refused(['--server-name', 'not a name'], /--server-name "not a name" is not a host name or an IP address/);
  });
});

describe('the self-signed certificate', () => {
  test('is made once, key 0600, naming the host, loopback and the --server-name; kept across starts', async () => {
    const dataDir = tempDir();
    const first = await loadOrCreateSelfSigned(dataDir, 'berth.example.com');
    const { certFile, keyFile } = selfSignedFiles(dataDir);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(first.replaced, undefined);
    const served = await certificateToServe({ dataDir, tlsCert: undefined, tlsKey: undefined, serverName: 'berth.example.com' });
    assert.equal(served.origin, 'self-signed');
    assert.equal(served.certFile, certFile);
    for (const name of ['berth.example.com', 'localhost', '127.0.0.1', '::1']) assert.ok(served.names.includes(name), `${name} in ${served.names.join(', ')}`);
    assert.equal(served.fingerprint, normalizeFingerprint(execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', certFile], { encoding: 'utf8' })));
    const again = await certificateToServe({ dataDir, tlsCert: undefined, tlsKey: undefined, serverName: undefined });
    assert.equal(again.fingerprint, served.fingerprint, 'the same certificate at the next start, so pins stay');
    assert.deepEqual(again.warnings, []);
  });

  test('is made again, saying why and that pins must be renewed, when it does not name a new --server-name or its key is not its own', async () => {
    const dataDir = tempDir();
    const first = await certificateToServe({ dataDir, tlsCert: undefined, tlsKey: undefined, serverName: undefined });
    const renamed = await certificateToServe({ dataDir, tlsCert: undefined, tlsKey: undefined, serverName: 'push.example.com' });
    assert.notEqual(renamed.fingerprint, first.fingerprint);
    assert.match(renamed.warnings.join('\n'), /could not serve \(it does not name --server-name push\.example\.com\); its fingerprint changed, so clients that pinned the old one must run berth login again/);
    const other = ownCertificate(dataDir, 'other');
    fs.copyFileSync(other.key, selfSignedFiles(dataDir).keyFile);
    const rekeyed = await certificateToServe({ dataDir, tlsCert: undefined, tlsKey: undefined, serverName: 'push.example.com' });
    assert.match(rekeyed.warnings.join('\n'), /its key is not the one of the certificate/);
  });
});

describe('the operator\'s certificate (--tls-cert, --tls-key)', () => {
  test('is served as given, with warnings for what clients will refuse', async () => {
    const dir = tempDir();
    const own = ownCertificate(dir, 'push.example.com');
    fs.chmodSync(own.key, 0o644);
    const served = await certificateToServe({ dataDir: dir, tlsCert: own.cert, tlsKey: own.key, serverName: 'other.example.com' });
    assert.equal(served.origin, 'given');
    assert.equal(served.certFile, own.cert);
    assert.deepEqual(served.names, ['push.example.com']);
    assert.match(served.warnings.join('\n'), /does not name --server-name other\.example\.com/);
    assert.match(served.warnings.join('\n'), /can be read by other users \(mode 644\): chmod 600 it/);
    assert.ok(!fs.existsSync(selfSignedFiles(dir).certFile), 'no self-signed certificate is made');
  });

  test('is refused before anything listens when it cannot serve: unreadable, not PEM, or not its key', async () => {
    const dir = tempDir();
    const own = ownCertificate(dir, 'a.example.com');
    const other = ownCertificate(dir, 'b.example.com');
    fs.writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate\n');
    const cases: Array<[string, string, RegExp]> = [
      [path.join(dir, 'missing.pem'), own.key, /cannot read --tls-cert .*missing\.pem/],
      [path.join(dir, 'junk.pem'), own.key, /--tls-cert .*junk\.pem holds no PEM certificate/],
      [own.cert, path.join(dir, 'junk.pem'), /--tls-key .*junk\.pem holds no PEM private key/],
      [own.cert, other.key, /the key in --tls-key .*b\.example\.com\.key is not the key of the certificate in --tls-cert .*a\.example\.com\.crt/],
    ];
    for (const [tlsCert, tlsKey, message] of cases) {
      await assert.rejects(certificateToServe({ dataDir: dir, tlsCert, tlsKey, serverName: undefined }), (error: Error) => error instanceof UsageError && message.test(error.message));
    }
  });
});

test('at start berth prints the fingerprint and how clients trust it; over plain HTTP, a warning that the token is in clear', async () => {
  const dataDir = tempDir();
  const certificate = await certificateToServe({ dataDir, tlsCert: undefined, tlsKey: undefined, serverName: 'push.example.com' });
  const token = { token: 'x'.repeat(20), origin: 'stored' as const, file: '/data/token' };
  const lines = gitPortAnnouncement({ listenHost: '0.0.0.0', serverName: 'push.example.com' }, 7070, certificate, token).join('\n');
  assert.match(lines, /listening on 0\.0\.0\.0:7070 over HTTPS/);
  assert.match(lines, new RegExp(`TLS: SHA-256 fingerprint ${certificate.fingerprint}`));
  assert.match(lines, /berth login https:\/\/push\.example\.com:7070 shows this fingerprint/);
  assert.match(lines, /git config --global http\.https:\/\/push\.example\.com:7070\/\.sslCAInfo FILE/);
  assert.match(lines, /push with: git remote add deploy https:\/\/berth:xxxx\*+@push\.example\.com:7070\/APP\.git/);
  const plain = gitPortAnnouncement({ listenHost: '127.0.0.1', serverName: undefined }, 7070, undefined, token).join('\n');
  assert.match(plain, /over plain HTTP/);
  assert.match(plain, /WARNING: --insecure-http: the git port speaks plain HTTP\. The token and every push cross the connection in clear/);
  assert.match(plain, /push with: git remote add deploy http:\/\/berth:/);
});

test('the local CLI is told the address and the fingerprint; over plain HTTP no stale fingerprint is left', async () => {
  const dataDir = tempDir();
  const certificate = await certificateToServe({ dataDir, tlsCert: undefined, tlsKey: undefined, serverName: undefined });
  await publishLocalServer(dataDir, 'https://127.0.0.1:7070', certificate);
  assert.equal(fs.readFileSync(localUrlFile(dataDir), 'utf8'), 'https://127.0.0.1:7070\n');
  assert.equal(fs.readFileSync(localFingerprintFile(dataDir), 'utf8'), `${certificate.fingerprint}\n`);
  await publishLocalServer(dataDir, 'http://127.0.0.1:7070', undefined);
  assert.ok(!fs.existsSync(localFingerprintFile(dataDir)));
});

describe('the CLI verifies the git port before it sends the token', () => {
  const TOKEN = 'unit-token-0123456789abcdef';
  let server: http.Server;
  let url: string;
  let certFile: string;
  let fingerprint: string;
  const seen: string[] = [];

  before(async () => {
    const dataDir = tempDir();
    const certificate = await certificateToServe({ dataDir, tlsCert: undefined, tlsKey: undefined, serverName: undefined });
    ({ certFile, fingerprint } = certificate);
    const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"apps": []}');
    };
    server = createGitPortServer({ token: TOKEN, handlers: { git: answer, api: answer }, fromContainer: async () => false, log: () => undefined, tls: certificate });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const call = (trust: Trust, at = url) => new Client({ url: at, token: TOKEN, trust }).call(API.listApps, {});

  test('a pinned fingerprint that matches, or the certificate given as BERTH_CA, is served', async () => {
    assert.deepEqual(await call({ fingerprint, pinnedBy: 'login' }), { apps: [] });
    assert.deepEqual(await call({ caFile: certFile }), { apps: [] });
    assert.deepEqual(await call({ caFile: certFile }, url.replace('127.0.0.1', 'localhost')), { apps: [] });
  });

  test('another fingerprint, or a self-signed certificate no CA vouches for, is refused (exit 3) naming the fingerprint, and nothing is sent', async () => {
    seen.length = 0;
    const other = Array(32).fill('00').join(':');
    await assert.rejects(call({ fingerprint: other, pinnedBy: 'login' }), (error: Error) => {
      assert.ok(error instanceof TrustError);
      assert.equal(error.exitCode, 3);
      assert.match(error.message, new RegExp(`the certificate of ${url} has changed since berth login pinned it: it now has SHA-256 fingerprint ${fingerprint}, the pinned one is ${other}`));
      assert.match(error.hint!, /pin it again with: berth login https:\/\/127\.0\.0\.1:\d+/);
      return true;
    });
    await assert.rejects(call({ fingerprint: other, pinnedBy: 'local' }), /the berth on this machine at .* presents a certificate with SHA-256 fingerprint/);
    await assert.rejects(call({}), (error: Error) => {
      assert.ok(error instanceof TrustError);
      assert.match(error.message, new RegExp(`the certificate of ${url} is not trusted: it is self-signed \\(SHA-256 fingerprint ${fingerprint}\\); nothing was sent`));
      assert.match(error.hint!, /berth login https:\/\/127\.0\.0\.1:\d+.*set BERTH_CA/);
      return true;
    });
    const dir = tempDir();
    const stranger = ownCertificate(dir, 'stranger');
    await assert.rejects(call({ caFile: stranger.cert }), /is not trusted: .*BERTH_CA|is not trusted/);
    await assert.rejects(call({ caFile: path.join(dir, 'missing.pem') }), /cannot read the CA file in BERTH_CA/);
    assert.deepEqual(seen, [], 'no request reached the server');
  });

  test('a certificate a trusted CA vouches for and that names the host replaces a fingerprint pinned by berth login (berth got one from ACME), never the local berth\'s', async () => {
    const other = Array(32).fill('00').join(':');
    assert.deepEqual(await call({ fingerprint: other, pinnedBy: 'login', caFile: certFile }, url.replace('127.0.0.1', 'localhost')), { apps: [] });
    await assert.rejects(call({ fingerprint: other, pinnedBy: 'local', caFile: certFile }, url.replace('127.0.0.1', 'localhost')), /the berth on this machine at .* presents a certificate/);
  });

  test('a client that opens a connection and never completes the TLS handshake is cut after the headers limit', { timeout: 10_000 }, async () => {
    const limited = createGitPortServer({ token: TOKEN, handlers: { git: async () => undefined, api: async () => undefined }, fromContainer: async () => false, log: () => undefined, tls: { certPem: fs.readFileSync(certFile, 'utf8'), keyPem: fs.readFileSync(certFile.replace('cert.pem', 'key.pem'), 'utf8') }, limits: { headersMs: 300, bodyIdleMs: 300, requestMs: 600, connections: 3 } });
    await new Promise<void>((resolve) => limited.listen(0, '127.0.0.1', resolve));
    const started = Date.now();
    const socket = net.connect((limited.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('close', resolve));
    limited.close();
    const openMs = Date.now() - started;
    assert.ok(openMs >= 250 && openMs < 2300, `the connection stayed open ${openMs} ms`);
  });

  test('berth login is shown the certificate before it trusts it', async () => {
    const presented = await presentedCertificate(url, undefined);
    assert.equal(presented.fingerprint, fingerprint);
    assert.equal(presented.authorized, false);
    assert.equal(presented.reason, 'it is self-signed');
    assert.ok(presented.names.includes('127.0.0.1'));
    assert.equal((await presentedCertificate(url, certFile)).authorized, true);
  });
});
