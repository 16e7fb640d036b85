// What certs:add (and every certificate an ACME server hands back) must pass before berth serves
// it, read with Node's X509Certificate: each refusal names what to fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCertificatePair, covers, namesToCover } from '../../src/certs/certificate.js';
import { InputError } from '../../src/errors.js';
import { makeCa, makeCertificate } from '../support/certificates.js';

const HOSTS = ['shop.localhost', 'shop.example.com', 'www.example.com'];
const now = () => new Date();

function refused(work: () => unknown, message: RegExp, hint?: RegExp): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof InputError, `an InputError, got ${String(error)}`);
    assert.match(error.message, message);
    if (hint) assert.match(error.hint ?? '', hint);
    return true;
  });
}

test('a chain in order with its key is accepted, read back as clean PEM with its names, issuer and validity', async () => {
  const ca = await makeCa('Shop Test CA');
  const issued = await makeCertificate(['shop.example.com', 'www.example.com'], { ca, days: 10 });
  const pair = checkCertificatePair({ app: 'shop', certPem: `Bag Attributes: junk\n${issued.chainPem}\ntrailing text\n`, keyPem: issued.keyPem, hostNames: HOSTS, now: now() });
  assert.deepEqual(pair.facts.names, ['shop.example.com', 'www.example.com']);
  assert.equal(pair.facts.issuer, 'Shop Test CA');
  assert.ok(Math.abs(Date.parse(pair.facts.notAfter) - Date.parse(pair.facts.notBefore) - 10 * 86400_000) < 5000);
  assert.match(pair.facts.fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(pair.chainPem.match(/BEGIN CERTIFICATE/g)?.length, 2);
  assert.doesNotMatch(pair.chainPem, /junk|trailing/);
  assert.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test('what is not PEM is refused saying so, and swapped files are named as such', async () => {
  const { certPem, keyPem } = await makeCertificate(['shop.example.com']);
  refused(() => checkCertificatePair({ app: 'shop', certPem: 'hello', keyPem, hostNames: HOSTS, now: now() }), /--cert is not a PEM certificate chain/, /fullchain\.pem/);
  refused(() => checkCertificatePair({ app: 'shop', certPem: keyPem, keyPem: certPem, hostNames: HOSTS, now: now() }), /are --cert and --key swapped/);
  refused(() => checkCertificatePair({ app: 'shop', certPem, keyPem: 'hello', hostNames: HOSTS, now: now() }), /--key is not a PEM private key/);
  const broken = certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!');
  refused(() => checkCertificatePair({ app: 'shop', certPem: broken, keyPem, hostNames: HOSTS, now: now() }), /certificate 1 of --cert cannot be read/);
  refused(() => checkCertificatePair({ app: 'shop', certPem, keyPem: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nxx\n-----END ENCRYPTED PRIVATE KEY-----\n', hostNames: HOSTS, now: now() }), /encrypted with a passphrase/, /openssl pkey/);
});

test('a key of another certificate is refused; a chain with the server certificate last says to reorder it', async () => {
  const ca = await makeCa();
  const mine = await makeCertificate(['shop.example.com'], { ca });
  const other = await makeCertificate(['shop.example.com'], { ca });
  refused(() => checkCertificatePair({ app: 'shop', certPem: mine.chainPem, keyPem: other.keyPem, hostNames: HOSTS, now: now() }), /the key does not belong to the certificate \(for shop\.example\.com\)/);
  refused(() => checkCertificatePair({ app: 'shop', certPem: ca.certPem + mine.certPem, keyPem: mine.keyPem, hostNames: HOSTS, now: now() }), /the key belongs to certificate 2 of the chain, not the first/, /server certificate first/);
  const stranger = await makeCa('Someone Else');
  refused(() => checkCertificatePair({ app: 'shop', certPem: mine.certPem + stranger.certPem, keyPem: mine.keyPem, hostNames: HOSTS, now: now() }), /certificate 2 of the chain did not issue certificate 1/);
});

test('an expired certificate is refused with its date', async () => {
  const { certPem, keyPem } = await makeCertificate(['shop.example.com', 'www.example.com'], { days: -1 });
  refused(() => checkCertificatePair({ app: 'shop', certPem, keyPem, hostNames: HOSTS, now: now() }), /the certificate expired on \d{4}-/, /berth certs:auto shop/);
});

test('every host name but the .localhost ones must be covered; the error names the missing ones', async () => {
  const { certPem, keyPem } = await makeCertificate(['shop.example.com']);
  refused(
    () => checkCertificatePair({ app: 'shop', certPem, keyPem, hostNames: [...HOSTS, 'api.example.com'], now: now() }),
    /does not cover www\.example\.com, api\.example\.com \(it is for shop\.example\.com\)/,
    /berth domains:remove shop www\.example\.com/,
  );
  assert.deepEqual(namesToCover(HOSTS), ['shop.example.com', 'www.example.com']);
  assert.deepEqual(namesToCover(['localhost', 'a.localhost']), []);
});

test('a wildcard covers one label below it, not the name itself nor two labels', () => {
  assert.ok(covers(['*.example.com'], 'shop.example.com'));
  assert.ok(!covers(['*.example.com'], 'example.com'));
  assert.ok(!covers(['*.example.com'], 'a.shop.example.com'));
  assert.ok(!covers(['*.example.com'], 'shopexample.com'));
  assert.ok(covers(['example.com'], 'example.com'));
});
