/**
 * Reading certificates and keys (Node's X509Certificate and KeyObject, nothing parsed by hand):
 * what a chain says (names, issuer, validity), which host names it covers, and the checks a
 * certificate someone brings must pass before berth serves it.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { InputError } from '../errors.js';

/** What berth shows and schedules by, read from the server certificate (the chain's first). */
export interface CertificateFacts {
  /** The DNS names it is valid for (subjectAltName; the common name when it has none). */
  names: string[];
  /** The issuer's common name (its whole distinguished name when it has none). */
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the server certificate, hex: names its files in the store. */
  fingerprint: string;
}

/** A chain and its key, read and written back as clean PEM (no text around the blocks). */
export interface CertificatePair {
  chainPem: string;
  keyPem: string;
  facts: CertificateFacts;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const HAS_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----/;

/** Every CERTIFICATE block of `pem`, in order; `what` names the input in errors (--cert, the ACME answer). */
export function readChain(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (!blocks.length) {
    const swapped = PEM_PRIVATE_KEY.test(pem) ? ': it holds a private key; are --cert and --key swapped?' : '';
    throw new InputError(`${what} is not a PEM certificate chain (no -----BEGIN CERTIFICATE----- block)${swapped}`, 'give the chain in PEM, server certificate first (certbot\'s fullchain.pem); convert a DER file with openssl x509 -inform der -in cert.der -out cert.pem');
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new InputError(`certificate ${i + 1} of ${what} cannot be read: ${(error as Error).message}`, 'check that the file was copied whole');
    }
  });
}

/** A PEM private key without a passphrase. */
export function readPrivateKey(pem: string, what: string): KeyObject {
  if (!PEM_PRIVATE_KEY.test(pem)) {
    const swapped = HAS_CERTIFICATE.test(pem) ? ': it holds a certificate; are --cert and --key swapped?' : '';
    throw new InputError(`${what} is not a PEM private key (no -----BEGIN PRIVATE KEY----- block)${swapped}`, 'give the key the certificate was issued for, in PEM');
  }
  if (/ENCRYPTED/.test(pem)) throw new InputError(`${what} is encrypted with a passphrase`, 'berth needs it without one: openssl pkey -in key.pem -out plain-key.pem');
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new InputError(`${what} cannot be read as a private key: ${(error as Error).message}`, 'check that the file was copied whole');
  }
}

export function certificateFacts(certificate: X509Certificate): CertificateFacts {
  return {
    names: dnsNames(certificate),
    issuer: commonName(certificate.issuer) ?? certificate.issuer.replace(/\n/g, ', '),
    notBefore: new Date(certificate.validFrom).toISOString(),
    notAfter: new Date(certificate.validTo).toISOString(),
    fingerprint: createHash('sha256').update(certificate.raw).digest('hex'),
  };
}

function dnsNames(certificate: X509Certificate): string[] {
  const alternatives = (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  if (alternatives.length) return alternatives;
  const name = commonName(certificate.subject);
  return name ? [name.toLowerCase()] : [];
}

function commonName(distinguishedName: string): string | undefined {
  return distinguishedName.split('\n').find((part) => part.startsWith('CN='))?.slice(3);
}

/** A name of the certificate covers `host` itself, or as a wildcard `*.example.com` one label of it (not example.com, not a.b.example.com). */
export function covers(names: string[], host: string): boolean {
  const dot = host.indexOf('.');
  const parent = dot > 0 ? host.slice(dot + 1) : undefined;
  return names.some((name) => name === host || (parent !== undefined && name === `*.${parent}`));
}

/**
 * Names ending in .localhost always resolve to the machine asking (RFC 6761), so no certificate
 * authority can validate them and no browser needs one: berth asks for, and checks, the others.
 */
export function needsCertificate(host: string): boolean {
  return host !== 'localhost' && !host.endsWith('.localhost');
}

/** The app's host names a certificate must cover: all but the .localhost ones. */
export function namesToCover(hostNames: string[]): string[] {
  return hostNames.filter(needsCertificate);
}

/**
 * A chain and key that berth would serve for `app`: readable PEM, the key belongs to the first
 * certificate, each certificate is issued by the next, valid now, and covering every host name
 * of the app that needs one. Each failure is an InputError that names what to fix.
 */
export function checkCertificatePair(input: { app: string; certPem: string; keyPem: string; hostNames: string[]; now: Date }): CertificatePair {
  const chain = readChain(input.certPem, '--cert');
  const key = readPrivateKey(input.keyPem, '--key');
  checkKeyMatches(chain, key);
  checkChainOrder(chain);
  const facts = certificateFacts(chain[0]);
  checkValidNow(input.app, facts, input.now);
  const uncovered = namesToCover(input.hostNames).filter((host) => !covers(facts.names, host));
  if (uncovered.length) {
    throw new InputError(
      `the certificate does not cover ${uncovered.join(', ')} (it is for ${facts.names.join(', ') || 'no DNS name'})`,
      `get one that covers every host name of ${input.app} (berth domains:list ${input.app}), or remove the name: berth domains:remove ${input.app} ${uncovered[0]}`,
    );
  }
  return { chainPem: chain.map((certificate) => certificate.toString()).join(''), keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), facts };
}

function checkKeyMatches(chain: X509Certificate[], key: KeyObject): void {
  if (chain[0].checkPrivateKey(key)) return;
  const later = chain.findIndex((certificate) => certificate.checkPrivateKey(key));
  if (later > 0) throw new InputError(`the key belongs to certificate ${later + 1} of the chain, not the first`, 'put the server certificate first, then each intermediate');
  throw new InputError(`the key does not belong to the certificate (for ${certificateFacts(chain[0]).names.join(', ') || chain[0].subject})`, 'give the key the certificate was issued for (the one its CSR was made with)');
}

function checkChainOrder(chain: X509Certificate[]): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i + 1])) {
      throw new InputError(`certificate ${i + 2} of the chain did not issue certificate ${i + 1}`, 'put the chain in order: server certificate first, then each intermediate up to the root');
    }
  }
}

function checkValidNow(app: string, facts: CertificateFacts, now: Date): void {
  if (new Date(facts.notAfter) <= now) throw new InputError(`the certificate expired on ${facts.notAfter}`, `renew it and add the new one, or let berth get and renew one: berth certs:auto ${app}`);
  if (new Date(facts.notBefore) > now) throw new InputError(`the certificate is not valid before ${facts.notBefore}`, 'check the clock of the machine that made it, or wait until then');
}
