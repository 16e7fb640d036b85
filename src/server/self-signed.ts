/**
 * berth's own self-signed certificate for the git port, made once into DATA_DIR/tls with the
 * openssl command (Node's crypto makes keys but no certificates; openssl is on every Debian and
 * does this in 10 ms, so no library is needed). It is kept across starts, so the fingerprint
 * clients pinned stays, and made again only when it cannot serve: unreadable, its key not its
 * own, expired, or not naming the --server-name clients use.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BerthError, describe } from '../errors.js';
import { isValidDomain } from '../model/app.js';
import { selfSignedFiles, type CertificateFiles } from '../model/local-server.js';

const run = promisify(execFile);
const VALID_DAYS = 3650;


/** What the certificate names: the machine's host name, loopback by name and address, and the name clients use. */
export function selfSignedNames(serverName: string | undefined, hostName = os.hostname()): string[] {
  const names = [serverName, isValidDomain(hostName) ? hostName.toLowerCase() : undefined, 'localhost', '127.0.0.1', '::1'];
  return [...new Set(names.filter((name): name is string => name !== undefined))];
}

/** Why the stored pair cannot serve, or undefined when it can. */
export function unusableBecause(certPem: string, keyPem: string, serverName: string | undefined, now = new Date()): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return 'its key is not the one of the certificate';
  } catch (error) {
    return `it cannot be read (${describe(error)})`;
  }
  if (new Date(cert.validTo) <= now) return `it expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}`;
  if (serverName !== undefined && !names(cert, serverName)) return `it does not name --server-name ${serverName}`;
  return undefined;
}

function names(cert: X509Certificate, name: string): boolean {
  return (net.isIP(name) ? cert.checkIP(name) : cert.checkHost(name, { subject: 'never' })) !== undefined;
}

export interface SelfSigned extends CertificateFiles {
  certPem: string;
  keyPem: string;
  /** Why a new one was made in place of the one stored; undefined when the stored one serves, or there was none. */
  replaced: string | undefined;
}

/** The stored self-signed certificate, or a new one when there is none or it cannot serve. */
export async function loadOrCreateSelfSigned(dataDir: string, serverName: string | undefined): Promise<SelfSigned> {
  const files = selfSignedFiles(dataDir);
  const stored = await readPair(files);
  const reason = stored && unusableBecause(stored.certPem, stored.keyPem, serverName);
  if (stored && reason === undefined) return { ...files, ...stored, replaced: undefined };
  const made = await makeSelfSigned(files, selfSignedNames(serverName));
  return { ...files, ...made, replaced: reason };
}

async function readPair(files: CertificateFiles): Promise<{ certPem: string; keyPem: string } | undefined> {
  try {
    return { certPem: await fs.readFile(files.certFile, 'utf8'), keyPem: await fs.readFile(files.keyFile, 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** openssl writes into a fresh folder beside, then the key and the certificate are renamed into place; a pair left half-made is found not matching and made again. */
async function makeSelfSigned(files: CertificateFiles, hostNames: string[]): Promise<{ certPem: string; keyPem: string }> {
  const dir = path.dirname(files.certFile);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const work = await fs.mkdtemp(path.join(dir, '.new-'));
  try {
    const [keyFile, certFile] = [path.join(work, 'key.pem'), path.join(work, 'cert.pem')];
    await runOpenssl(opensslArguments(hostNames, keyFile, certFile));
    await fs.chmod(keyFile, 0o600);
    const made = { certPem: await fs.readFile(certFile, 'utf8'), keyPem: await fs.readFile(keyFile, 'utf8') };
    await fs.rename(keyFile, files.keyFile);
    await fs.rename(certFile, files.certFile);
    return made;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** An end-entity certificate (not a CA) for TLS servers, with a P-256 key: what git's GnuTLS, curl and Node all take as a trust anchor of its own. */
export function opensslArguments(hostNames: string[], keyFile: string, certFile: string): string[] {
  const altNames = hostNames.map((name) => (net.isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  return [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256', '-days', String(VALID_DAYS),
    '-subj', `/O=berth/CN=${hostNames[0].length <= 64 ? hostNames[0] : 'berth'}`,
    '-addext', `subjectAltName=${altNames}`,
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature',
    '-addext', 'extendedKeyUsage=serverAuth',
    '-keyout', keyFile, '-out', certFile,
  ];
}

async function runOpenssl(args: string[]): Promise<void> {
  const hint = 'install openssl (apt-get install openssl), or give berth a certificate with --tls-cert FILE --tls-key FILE';
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (error) {
    const failed = error as NodeJS.ErrnoException & { stderr?: string };
    if (failed.code === 'ENOENT') throw new BerthError('berth makes its self-signed certificate with the openssl command, which is not installed', hint);
    throw new BerthError(`openssl could not make berth's self-signed certificate: ${(failed.stderr ?? describe(error)).trim()}`, hint);
  }
}
