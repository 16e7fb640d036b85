// The git port's certificate for --server-name from ACME: when berth gets one, that it is handed to
// the git port, renewed on the apps' rules, kept when renewing fails, and found again at start.
// A fake ACME server, a clock the test moves, and the real certificate store.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitPortCertificate, gitPortAcmeName, storedGitPortCertificate } from '../../src/certs/git-port-certificate.js';
import type { CertificatePair } from '../../src/certs/certificate.js';
import { CertStore } from '../../src/certs/store.js';
import { resolveServeOptions } from '../../src/server/options.js';
import { FakeAuthority } from '../support/fake-authority.js';

const DAY = 86400_000;
const NAME = 'push.example.com';

async function setup(t: TestContext) {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-unit-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const store = new CertStore(dataDir);
  const authority = new FakeAuthority();
  // A minute ahead: the fake authority's certificates are valid from the moment openssl makes
  // them, which on a busy machine is after the test began.
  const clock = { now: new Date(Date.now() + 60_000) };
  const logged: string[] = [];
  const served: CertificatePair[] = [];
  const make = () => {
    const certificate = new GitPortCertificate({ store, authority, serverName: NAME, log: (line) => logged.push(line), now: () => clock.now });
    certificate.handTo(async (pair) => void served.push(pair));
    return certificate;
  };
  return { store, authority, clock, logged, served, make, certificate: make() };
}

test('which --server-name gets an ACME certificate: a name a CA can validate, with no --tls-cert, over HTTPS, unless --no-server-acme', () => {
  const name = (...argv: string[]) => gitPortAcmeName(resolveServeOptions(argv, {}));
  assert.equal(name('--server-name', NAME), NAME);
  assert.equal(name(), undefined);
  assert.equal(name('--server-name', '203.0.113.5'), undefined, 'no CA validates an IP address over http-01 here');
  assert.equal(name('--server-name', 'berth.localhost'), undefined);
  assert.equal(name('--server-name', NAME, '--no-server-acme'), undefined);
  assert.equal(gitPortAcmeName({ serverName: NAME, serverAcme: true, tlsCert: '/etc/cert.pem', insecureHttp: false }), undefined);
  assert.equal(gitPortAcmeName({ serverName: NAME, serverAcme: true, tlsCert: undefined, insecureHttp: true }), undefined);
});

test('the first round gets a certificate for --server-name, stores it and hands it to the git port; the next start finds it', async (t) => {
  const { store, authority, clock, served, certificate, logged } = await setup(t);
  assert.equal((await certificate.summary()).state, 'missing');
  assert.equal(await certificate.nextDueAt(), 0, 'due at once');
  await certificate.round();
  assert.deepEqual(authority.argsOf('issue'), [[[NAME]]]);
  assert.equal(served.length, 1);
  assert.deepEqual(served[0].facts.names, [NAME]);
  assert.match(logged.join('\n'), /getting a certificate for the git port's --server-name push\.example\.com from https:\/\/acme\.test\/directory \(there is none\)/);
  const summary = await certificate.summary();
  assert.equal(summary.state, 'valid');
  assert.equal(Date.parse(summary.notAfter!), Date.parse(served[0].facts.notAfter));
  assert.equal(await certificate.nextDueAt(), Date.parse(served[0].facts.notAfter) - 30 * DAY, 'renewed 30 days before a 90-day certificate expires');
  await certificate.round();
  assert.equal(authority.argsOf('issue').length, 1, 'nothing is ordered before the renewal time');
  const found = await storedGitPortCertificate(store, NAME, authority.directory, clock.now);
  assert.equal(found?.facts.fingerprint, served[0].facts.fingerprint);
  assert.equal((await fs.stat(found!.chainFile)).mode & 0o777, 0o600);
  assert.equal(await storedGitPortCertificate(store, 'other.example.com', authority.directory, clock.now), undefined, 'not for another --server-name');
  assert.equal(await storedGitPortCertificate(store, NAME, 'https://elsewhere.test/directory', clock.now), undefined, 'not from another ACME directory');
  assert.equal(await storedGitPortCertificate(store, NAME, authority.directory, new Date(clock.now.getTime() + 91 * DAY)), undefined, 'not once expired');
});

test('a renewal that fails keeps the certificate served, says so, retries with back-off, and a later round renews it', async (t) => {
  const { authority, clock, served, certificate, logged } = await setup(t);
  await certificate.round();
  clock.now = new Date(clock.now.getTime() + 61 * DAY);
  assert.equal((await certificate.summary()).state, 'due');
  authority.fail('issue', new Error('connection refused'));
  await certificate.round();
  assert.equal(served.length, 1, 'nothing new served');
  assert.match(logged.at(-1)!, /getting a certificate for the git port \(push\.example\.com\) failed: connection refused; it serves the certificate it has, and berth tries again at /);
  const failing = await certificate.summary();
  assert.equal(failing.state, 'failing');
  assert.equal(failing.lastError, 'connection refused');
  assert.equal(Date.parse(failing.nextAttemptAt!), clock.now.getTime() + 10 * 60_000, 'the first retry after 10 minutes');
  await certificate.round();
  assert.equal(authority.argsOf('issue').length, 2, 'no attempt before the retry time');
  clock.now = new Date(clock.now.getTime() + 11 * 60_000);
  await certificate.round();
  assert.equal(served.length, 2, 'renewed');
  assert.notEqual(served[1].facts.fingerprint, served[0].facts.fingerprint);
  const renewed = await certificate.summary();
  assert.deepEqual([renewed.lastError, renewed.nextAttemptAt], [null, null], 'the failure is over');
});

test('a new --server-name gets a new certificate at once', async (t) => {
  const { store, authority, clock, logged, certificate } = await setup(t);
  await certificate.round();
  const renamed = new GitPortCertificate({ store, authority, serverName: 'git.example.com', log: (line) => logged.push(line), now: () => clock.now });
  renamed.handTo(async () => undefined);
  assert.equal((await renamed.summary()).state, 'due');
  await renamed.round();
  assert.deepEqual(authority.argsOf('issue').at(-1), [['git.example.com']]);
  assert.match(logged.join('\n'), /\(it is for push\.example\.com, not --server-name git\.example\.com\)/);
});
