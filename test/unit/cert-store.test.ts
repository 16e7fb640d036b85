// Certificates under DATA_DIR/certs: berth's alone (0700/0600), a new pair written before the
// record names it, the ACME account key made once.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkCertificatePair } from '../../src/certs/certificate.js';
import { CertStore } from '../../src/certs/store.js';
import { makeCertificate } from '../support/certificates.js';

async function store(t: TestContext): Promise<CertStore> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-unit-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  return new CertStore(dataDir);
}

async function pair(names: string[]) {
  const { chainPem, keyPem } = await makeCertificate(names);
  return checkCertificatePair({ app: 'shop', certPem: chainPem, keyPem, hostNames: names, now: new Date() });
}

async function mode(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777;
}

test('a saved certificate reads back; its key, chain and record are 0600 in a 0700 folder, and a new one replaces every file of the old', async (t) => {
  const certs = await store(t);
  const first = await pair(['shop.example.com']);
  await certs.save('shop', first, { source: 'acme', directory: 'https://acme.test/dir' }, new Date());
  assert.deepEqual(await certs.pair('shop'), first);
  const dir = path.join(certs.dir, 'shop');
  assert.equal(await mode(dir), 0o700);
  const files = await fs.readdir(dir);
  assert.equal(files.length, 3, files.join(', '));
  for (const file of files) assert.equal(await mode(path.join(dir, file)), 0o600, file);
  const meta = await certs.meta('shop');
  assert.equal(meta.certificate?.source, 'acme');
  assert.equal(meta.certificate?.directory, 'https://acme.test/dir');
  assert.deepEqual(meta.certificate?.names, ['shop.example.com']);
  const second = await pair(['shop.example.com', 'www.example.com']);
  await certs.save('shop', second, { source: 'manual' }, new Date());
  assert.deepEqual(await certs.pair('shop'), second);
  assert.equal((await fs.readdir(dir)).length, 3, 'the old pair is gone');
  assert.deepEqual(await certs.apps(), ['shop']);
});

test('a pair written but not yet named (berth died between) leaves the named one in use', async (t) => {
  const certs = await store(t);
  const named = await pair(['shop.example.com']);
  await certs.save('shop', named, { source: 'manual' }, new Date());
  await fs.writeFile(path.join(certs.dir, 'shop', 'key-0123456789abcdef.pem'), 'half written');
  assert.deepEqual(await certs.pair('shop'), named);
});

test('failures count up with their error and next attempt; a certificate from ACME ends them; removing one keeps auto', async (t) => {
  const certs = await store(t);
  await certs.setAuto('shop', true);
  const at = new Date('2026-12-01T00:00:00Z');
  await certs.recordFailure('shop', { message: 'no DNS', hint: 'point it here' }, at, new Date('2026-12-01T00:10:00Z'));
  const failed = await certs.recordFailure('shop', { message: 'still no DNS' }, at, new Date('2026-12-01T00:20:00Z'));
  assert.deepEqual(failed.renewal, { lastAttemptAt: at.toISOString(), lastError: { message: 'still no DNS', at: at.toISOString() }, failures: 2, nextAttemptAt: '2026-12-01T00:20:00.000Z' });
  await certs.save('shop', await pair(['shop.example.com']), { source: 'acme', directory: 'x' }, at);
  assert.deepEqual((await certs.meta('shop')).renewal, { failures: 0, lastAttemptAt: at.toISOString() });
  await certs.removeCertificate('shop');
  const meta = await certs.meta('shop');
  assert.equal(meta.certificate, undefined);
  assert.equal(meta.auto, true);
  assert.deepEqual(await fs.readdir(path.join(certs.dir, 'shop')), ['meta.json']);
  await certs.forget('shop');
  assert.deepEqual(await certs.apps(), []);
});

test('the ACME account key is made once, 0600, and the same ever after', async (t) => {
  const certs = await store(t);
  let made = 0;
  const create = async () => `key ${++made}`;
  const [a, b] = await Promise.all([certs.accountKey(create), certs.accountKey(create)]);
  assert.equal(a, 'key 1');
  assert.equal(b, 'key 1');
  assert.equal(await new CertStore(certs.dataDir).accountKey(create), 'key 1');
  assert.equal(made, 1);
  assert.equal(await mode(path.join(certs.dir, 'account-key.pem')), 0o600);
});
