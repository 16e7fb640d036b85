/**
 * Which certificate berth's own port (git pushes and the admin API) serves over HTTPS.
 *
 * `certificateToServe` picks one at start, in this order: the operator's --tls-cert/--tls-key;
 * then the ACME certificate for --server-name, once one is issued (src/certs/git-port-certificate);
 * else berth's self-signed one. A certificate that changes while berth runs (issued, renewed)
 * goes to `useCertificate`, which serves it to every new connection and rewrites what the CLI on
 * this machine verifies it by.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import type https from 'node:https';
import net from 'node:net';
import { describe, UsageError } from '../errors.js';
import { localFingerprintFile, localUrlFile } from '../model/local-server.js';
import { certificateNames, fingerprintOf } from '../model/tls.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { ServeOptions } from './options.js';
import { loadOrCreateSelfSigned } from './self-signed.js';

export type CertificateOrigin = 'self-signed' | 'given' | 'acme';

export interface ServedCertificate {
  /** The certificate, and the chain after it, as PEM. */
  certPem: string;
  keyPem: string;
  origin: CertificateOrigin;
  /** The file a client trusts it by (git's http.sslCAInfo, BERTH_CA). */
  certFile: string;
  fingerprint: string;
  /** Its subject alternative names. */
  names: string[];
  issuer: string;
  validTo: Date;
  /** What the operator must know about it, printed at start. */
  warnings: string[];
}

/** An ACME certificate of the git port, as the certificate store keeps it. */
export interface AcmeServed {
  chainPem: string;
  keyPem: string;
  chainFile: string;
}

export async function certificateToServe(options: Pick<ServeOptions, 'dataDir' | 'tlsCert' | 'tlsKey' | 'serverName'>, acme?: AcmeServed): Promise<ServedCertificate> {
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) return givenCertificate(options.tlsCert, options.tlsKey, options.serverName);
  if (acme) return acmeCertificate(acme);
  const made = await loadOrCreateSelfSigned(options.dataDir, options.serverName);
  const warnings = made.replaced ? [`made a new self-signed certificate: the one in ${made.certFile} could not serve (${made.replaced}); its fingerprint changed, so clients that pinned the old one must run berth login again`] : [];
  return { ...describeCertificate(made.certPem), certPem: made.certPem, keyPem: made.keyPem, origin: 'self-signed', certFile: made.certFile, warnings };
}

export function acmeCertificate(acme: AcmeServed): ServedCertificate {
  return { ...describeCertificate(acme.chainPem), certPem: acme.chainPem, keyPem: acme.keyPem, origin: 'acme', certFile: acme.chainFile, warnings: [] };
}

/** The fingerprint, names, issuer and expiry of the first certificate of `certPem`. */
export function describeCertificate(certPem: string): Pick<ServedCertificate, 'fingerprint' | 'names' | 'issuer' | 'validTo'> {
  const cert = new X509Certificate(certPem);
  return { fingerprint: fingerprintOf(certPem), names: certificateNames(cert.subjectAltName), issuer: cert.issuer.replace(/\n/g, ', '), validTo: new Date(cert.validTo) };
}

/** The operator's own certificate, checked before anything listens: readable, PEM, and the key its own. */
async function givenCertificate(certFile: string, keyFile: string, serverName: string | undefined): Promise<ServedCertificate> {
  const certPem = await readGiven(certFile, '--tls-cert');
  const keyPem = await readGiven(keyFile, '--tls-key');
  const cert = parse(() => new X509Certificate(certPem), `--tls-cert ${certFile} holds no PEM certificate`, 'give the certificate as PEM (-----BEGIN CERTIFICATE-----), the chain after it');
  const key = parse(() => createPrivateKey(keyPem), `--tls-key ${keyFile} holds no PEM private key`, 'give the key as PEM, without a passphrase (openssl pkey -in KEY -out KEY.plain removes one)');
  if (!cert.checkPrivateKey(key)) {
    throw new UsageError(`the key in --tls-key ${keyFile} is not the key of the certificate in --tls-cert ${certFile}`, 'give the key the certificate was issued for');
  }
  return { ...describeCertificate(certPem), certPem, keyPem, origin: 'given', certFile, warnings: await givenWarnings(cert, keyFile, serverName) };
}

async function readGiven(file: string, flag: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${flag} ${file}: ${describe(error)}`);
  }
}

function parse<T extends X509Certificate | KeyObject>(make: () => T, message: string, hint: string): T {
  try {
    return make();
  } catch (error) {
    throw new UsageError(`${message} (${describe(error)})`, hint);
  }
}

/** Served anyway, since refusing to start would stop pushes too; clients will refuse it until it is fixed. */
async function givenWarnings(cert: X509Certificate, keyFile: string, serverName: string | undefined): Promise<string[]> {
  const warnings: string[] = [];
  const now = new Date();
  if (new Date(cert.validTo) <= now) warnings.push(`the certificate of --tls-cert expired on ${cert.validTo}: clients will refuse it; give a new one`);
  if (new Date(cert.validFrom) > now) warnings.push(`the certificate of --tls-cert is not valid before ${cert.validFrom}: clients will refuse it until then`);
  if (serverName !== undefined && (net.isIP(serverName) ? cert.checkIP(serverName) : cert.checkHost(serverName)) === undefined) {
    warnings.push(`the certificate of --tls-cert does not name --server-name ${serverName}: clients that reach berth by that name will refuse it`);
  }
  const mode = (await fs.stat(keyFile)).mode & 0o777;
  if (mode & 0o077) warnings.push(`--tls-key ${keyFile} can be read by other users (mode ${mode.toString(8)}): chmod 600 it`);
  return warnings;
}

/** Serves `certificate` to every new connection from now on (open ones keep theirs), and tells the CLI on this machine its fingerprint. */
export async function useCertificate(server: https.Server, dataDir: string, certificate: ServedCertificate): Promise<void> {
  server.setSecureContext({ cert: certificate.certPem, key: certificate.keyPem });
  await writeFileAtomic(localFingerprintFile(dataDir), `${certificate.fingerprint}\n`);
}

/**
 * What the CLI on this machine reads to reach this berth with nothing set: the fingerprint to
 * verify it by (none over plain HTTP), then the address, so a CLI never pairs a new address with
 * a stale fingerprint it should have had.
 */
export async function publishLocalServer(dataDir: string, url: string, certificate: ServedCertificate | undefined): Promise<void> {
  if (certificate) await writeFileAtomic(localFingerprintFile(dataDir), `${certificate.fingerprint}\n`);
  else await fs.rm(localFingerprintFile(dataDir), { force: true });
  await writeFileAtomic(localUrlFile(dataDir), `${url}\n`);
}
