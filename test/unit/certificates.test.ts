// Every app's certificate through certs:auto, certs:add, certs:remove, domain changes and the
// renewal rounds, with a fake ACME server, the fake proxy and a clock the test moves; the store is real.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { AppLocks } from '../../src/deploy/lock.js';
import { BerthError, ConflictError, InputError } from '../../src/errors.js';
import { APP, harness, type Harness } from '../support/deploy-harness.js';
import { certsHarness, type CertsHarness } from '../support/certs-harness.js';
import { makeCertificate } from '../support/certificates.js';

const DAY = 86400_000;

async function setup(t: TestContext, options: { acmeAuto?: boolean; domains?: string[] } = {}): Promise<{ h: Harness; c: CertsHarness; progress: string[] }> {
  const h = await harness(t);
  await h.store.updateApp(APP, (app) => (app.domains = options.domains ?? ['shop.example.com']));
  return { h, c: certsHarness(h, { acmeAuto: options.acmeAuto }), progress: [] };
}

function served(h: Harness): { hosts: string[]; names: string[]; serial: string } | undefined {
  const certificate = h.proxy.certificates.get(APP);
  if (!certificate) return undefined;
  const x509 = new X509Certificate(certificate.certPem);
  return { hosts: certificate.hosts, names: x509.subjectAltName!.split(', ').map((name) => name.slice(4)), serial: x509.serialNumber };
}

function later(c: CertsHarness, ms: number): void {
  c.clock.now = new Date(c.clock.now.getTime() + ms);
}

test('certs:auto gets one certificate for every host name of the app, stores it and hands it to the edge with the app options first', async (t) => {
  const { h, c, progress } = await setup(t, { domains: ['shop.example.com', 'www.example.com'] });
  let woken = 0;
  c.certificates.onChange(() => (woken += 1));
  const info = await c.certificates.enableAuto(APP, (line) => progress.push(line));
  assert.ok(woken > 0, 'the schedule hears of the new renewal time');
  assert.deepEqual(c.authority.argsOf('issue'), [[['shop.example.test', 'shop.example.com', 'www.example.com']]]);
  assert.deepEqual(served(h)?.hosts, ['shop.example.test', 'shop.example.com', 'www.example.com']);
  assert.deepEqual(h.proxy.calls.filter((call) => call.method.startsWith('set')).map((call) => call.method), ['setAppOptions', 'setCertificate']);
  assert.deepEqual(h.proxy.appOptions.get(APP), { redirectHttps: true, hsts: false });
  assert.equal(info.auto, true);
  assert.equal(info.state, 'valid');
  assert.equal(info.certificate?.source, 'acme');
  assert.deepEqual(info.uncovered, []);
  assert.equal(Date.parse(info.certificate!.renewsAt), Date.parse(info.certificate!.notAfter) - 30 * DAY);
  assert.deepEqual(progress.slice(0, 2), ['Getting a certificate for shop (it has none)', 'fake ACME: issuing for shop.example.test, shop.example.com, www.example.com']);
  assert.match(progress.at(-1)!, /^The edge serves it over HTTPS for shop\.example\.test, shop\.example\.com, www\.example\.com$/);
  assert.ok((await c.store.pair(APP))?.keyPem.includes('PRIVATE KEY'));
  await c.certificates.enableAuto(APP, (line) => progress.push(line));
  assert.equal(c.authority.argsOf('issue').length, 1, 'a second certs:auto with a fitting certificate orders none');
});

test('an app with only .localhost names cannot get a certificate, and certs:auto says what to add', async (t) => {
  const h = await harness(t);
  const c = certsHarness(h);
  await h.store.updateApp(APP, (app) => (app.domains = ['shop.localhost']));
  const { certificates } = certsHarness({ ...h, options: { ...h.options, domain: 'localhost' } });
  await assert.rejects(certificates.enableAuto(APP, () => undefined), (error: unknown) => {
    assert.ok(error instanceof ConflictError);
    assert.match(error.message, /shop has no host name a certificate authority can validate \(shop\.localhost, shop\.localhost/);
    assert.match(error.hint ?? '', /berth domains:add shop/);
    return true;
  });
  assert.equal((await c.store.meta(APP)).auto, undefined, 'certs:auto was not turned on');
});

test('a failed certs:auto records the error and the next attempt, stays on, and leaves the edge as it was', async (t) => {
  const { h, c } = await setup(t);
  c.authority.fail('issue', new BerthError('the ACME server could not validate shop.example.com: connection refused', 'point its DNS here'));
  await assert.rejects(c.certificates.enableAuto(APP, () => undefined), /getting a certificate for shop failed: the ACME server could not validate shop\.example\.com: connection refused; berth tries again at /);
  const info = await c.certificates.info((await h.store.getApp(APP))!);
  assert.equal(info.state, 'failing');
  assert.equal(info.auto, true);
  assert.equal(info.lastError?.hint, 'point its DNS here');
  assert.equal(Date.parse(info.nextAttemptAt!), c.clock.now.getTime() + 10 * 60_000);
  assert.equal(h.proxy.argsOf('setCertificate').length, 0);
  await c.certificates.round();
  assert.equal(c.authority.argsOf('issue').length, 1, 'no retry before the next attempt is due');
  later(c, 10 * 60_000);
  await c.certificates.round();
  assert.equal(c.authority.argsOf('issue').length, 2, 'retried when due');
  assert.equal((await c.certificates.info((await h.store.getApp(APP))!)).state, 'valid');
});

test('the round renews at the renewal time; a renewal that fails keeps the old certificate served and retries with back-off', async (t) => {
  const { h, c } = await setup(t);
  await c.certificates.enableAuto(APP, () => undefined);
  const first = served(h)!;
  assert.equal(await c.certificates.nextDueAt(), Date.parse((await c.store.meta(APP)).certificate!.notAfter) - 30 * DAY);
  later(c, 59 * DAY);
  await c.certificates.round();
  assert.equal(c.authority.argsOf('issue').length, 1, 'not yet due');
  later(c, 1 * DAY + 60_000);
  c.authority.fail('issue', new Error('timeout'), { call: 1, always: true });
  await c.certificates.round();
  assert.equal(served(h)?.serial, first.serial, 'the old certificate serves on');
  assert.equal((await c.store.meta(APP)).certificate?.fingerprint !== undefined, true);
  const failing = await c.certificates.summary((await h.store.getApp(APP))!);
  assert.equal(failing?.state, 'failing');
  assert.match(failing?.lastError ?? '', /timeout/);
  assert.match(c.logged.join('\n'), /shop: getting a certificate for shop failed: timeout; the certificate it has \(until .*\) serves on; berth tries again at/);
  later(c, 10 * 60_000);
  await c.certificates.round();
  const meta = await c.store.meta(APP);
  assert.equal(meta.renewal.failures, 2);
  assert.equal(Date.parse(meta.renewal.nextAttemptAt!), c.clock.now.getTime() + 20 * 60_000, 'twice as long after the second failure');
  c.authority.fail('issue', new Error('not reached'), { call: 1000 });
  later(c, 20 * 60_000);
  await c.certificates.round();
  assert.notEqual(served(h)?.serial, first.serial, 'renewed');
  assert.equal((await c.store.meta(APP)).renewal.failures, 0);
});

test('a domain added to an auto app is served at once by what covers it, and re-issued for the new set in the next round', async (t) => {
  const { h, c } = await setup(t);
  await c.certificates.enableAuto(APP, () => undefined);
  await h.store.updateApp(APP, (app) => app.domains.push('new.example.com'));
  await c.certificates.hostNamesChanged(APP);
  assert.ok((await c.certificates.nextDueAt())! <= c.clock.now.getTime());
  await c.certificates.round();
  assert.deepEqual(c.authority.argsOf('issue').at(-1), [['shop.example.test', 'shop.example.com', 'new.example.com']]);
  assert.deepEqual(served(h)?.hosts, ['shop.example.test', 'shop.example.com', 'new.example.com']);
  await h.store.updateApp(APP, (app) => (app.domains = ['new.example.com']));
  await c.certificates.hostNamesChanged(APP);
  await c.certificates.round();
  assert.deepEqual(c.authority.argsOf('issue').at(-1), [['shop.example.test', 'new.example.com']], 'a removed name leaves the certificate too');
});

test('certs:add serves a certificate that fits, turns certs:auto off, and changes nothing when it does not fit', async (t) => {
  const { h, c } = await setup(t);
  await c.store.setAuto(APP, true);
  const wrong = await makeCertificate(['other.example.com']);
  await assert.rejects(c.certificates.install(APP, wrong.chainPem, wrong.keyPem), InputError);
  assert.equal(h.proxy.argsOf('setCertificate').length, 0);
  assert.equal((await c.store.meta(APP)).auto, true);
  const mine = await makeCertificate(['*.example.test', 'shop.example.com']);
  const info = await c.certificates.install(APP, mine.chainPem, mine.keyPem);
  assert.equal(info.auto, false);
  assert.equal(info.certificate?.source, 'manual');
  assert.deepEqual(served(h)?.hosts, ['shop.example.test', 'shop.example.com']);
  await c.certificates.round();
  assert.equal(c.authority.argsOf('issue').length, 0, 'berth never replaces a certificate someone brought');
  await h.store.updateApp(APP, (app) => app.domains.push('api.example.com'));
  assert.equal((await c.certificates.summary((await h.store.getApp(APP))!))?.state, 'due', 'a host name it misses shows');
  await h.store.updateApp(APP, (app) => (app.domains = ['shop.example.com']));
  h.proxy.fail('setCertificate', new Error('edge down'));
  const newer = await makeCertificate(['*.example.test', 'shop.example.com']);
  await assert.rejects(c.certificates.install(APP, newer.chainPem, newer.keyPem), /the edge did not take the certificate for shop: edge down; nothing changed/);
  assert.equal((await c.store.pair(APP))?.chainPem, new X509Certificate(mine.certPem).toString(), 'the certificate it had stays stored');
});

test('certs:remove stops the edge serving it and turns certs:auto off; removing none is a conflict', async (t) => {
  const { h, c } = await setup(t);
  await c.certificates.enableAuto(APP, () => undefined);
  const info = await c.certificates.remove(APP);
  assert.deepEqual(h.proxy.argsOf('setCertificate').at(-1), [APP, undefined]);
  assert.equal(info.certificate, null);
  assert.equal(info.auto, false);
  await assert.rejects(c.certificates.remove(APP), ConflictError);
  await c.certificates.round();
  assert.equal(c.authority.argsOf('issue').length, 1);
});

test('at start every stored certificate and every changed option goes to the edge; one it refuses is offered again by the next round', async (t) => {
  const { h, c } = await setup(t);
  await c.certificates.enableAuto(APP, () => undefined);
  await h.store.createApp('blog');
  await h.store.updateApp('blog', (app) => (app.proxy = { redirectHttps: false, hsts: true }));
  await h.store.createApp('plain');
  h.proxy.certificates.clear();
  h.proxy.forgetCalls();
  const restarted = certsHarness(h);
  h.proxy.fail('setCertificate', new Error('the edge is starting'));
  await restarted.certificates.handAll();
  assert.deepEqual(h.proxy.argsOf('setAppOptions'), [['blog', { redirectHttps: false, hsts: true }], [APP, { redirectHttps: true, hsts: false }]]);
  assert.match(restarted.logged.join('\n'), /shop: the certificate is stored, but the edge did not take it: the edge is starting; berth offers it again in 30 s/);
  assert.equal(await restarted.certificates.nextDueAt(), restarted.clock.now.getTime() + 30_000);
  later(restarted, 30_000);
  await restarted.certificates.round();
  assert.deepEqual(served(h)?.hosts, ['shop.example.test', 'shop.example.com']);
});

test('--acme-auto gets certificates for every app in the round, except one turned off', async (t) => {
  const { h, c } = await setup(t, { acmeAuto: true });
  await h.store.createApp('blog');
  await h.store.createApp('quiet');
  await c.store.setAuto('quiet', false);
  await c.certificates.round();
  assert.deepEqual(c.authority.argsOf('issue').map(([names]) => names), [['blog.example.test'], ['shop.example.test', 'shop.example.com']]);
});

test('an app destroyed: the edge stops serving its certificate and nothing of it stays', async (t) => {
  const { h, c } = await setup(t);
  await c.certificates.enableAuto(APP, () => undefined);
  await c.certificates.forget(APP);
  assert.deepEqual(h.proxy.argsOf('setCertificate').at(-1), [APP, undefined]);
  assert.deepEqual(await c.store.apps(), []);
});

test('certificate operations of one app wait for each other, but never for a deploy of it', async (t) => {
  const h = await harness(t);
  await h.store.updateApp(APP, (app) => (app.domains = ['shop.example.com']));
  const locks = new AppLocks();
  const c = certsHarness(h, { locks });
  const deploying = await locks.acquire(APP, { description: 'a push', since: Date.now() }, () => undefined);
  await c.certificates.enableAuto(APP, () => undefined);
  deploying();
  assert.equal(c.authority.argsOf('issue').length, 1);
});
