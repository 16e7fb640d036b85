/**
 * Certificates made with openssl for tests: self-signed ones, or a small CA with a chain, for
 * the names and lifetime a test needs. Each call works in a temporary folder of its own.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  /** The server certificate alone. */
  certPem: string;
  keyPem: string;
  /** Server certificate, then the CA's (the CA's alone for a self-signed one). */
  chainPem: string;
}

export interface TestCa {
  certPem: string;
  keyPem: string;
}

async function inTemporaryDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-certs-'));
  try {
    return await work(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function subjectAltName(names: string[]): string {
  return `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`;
}

export function makeCa(name = 'berth test CA'): Promise<TestCa> {
  return inTemporaryDir(async (dir) => {
    const [cert, key] = [path.join(dir, 'ca.pem'), path.join(dir, 'ca-key.pem')];
    await run('openssl', ['req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    return { certPem: await fs.readFile(cert, 'utf8'), keyPem: await fs.readFile(key, 'utf8') };
  });
}

/**
 * A certificate for `names`, valid from now for `days` (-1: it expired yesterday), signed by `ca`
 * or by itself.
 */
export function makeCertificate(names: string[], options: { days?: number; ca?: TestCa } = {}): Promise<TestCertificate> {
  const days = String(options.days ?? 30);
  return inTemporaryDir(async (dir) => {
    const file = (name: string) => path.join(dir, name);
    await fs.writeFile(file('ext.cnf'), `${subjectAltName(names)}\n`);
    await run('openssl', ['req', '-new', ...EC_KEY, '-keyout', file('key.pem'), '-out', file('req.csr'), '-subj', `/CN=${names[0]}`]);
    if (options.ca) {
      await fs.writeFile(file('ca.pem'), options.ca.certPem);
      await fs.writeFile(file('ca-key.pem'), options.ca.keyPem);
      await run('openssl', ['x509', '-req', '-in', file('req.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca-key.pem'), '-CAcreateserial', '-days', days, '-extfile', file('ext.cnf'), '-out', file('cert.pem')]);
    } else {
      await run('openssl', ['x509', '-req', '-in', file('req.csr'), '-signkey', file('key.pem'), '-days', days, '-extfile', file('ext.cnf'), '-out', file('cert.pem')]);
    }
    const certPem = await fs.readFile(file('cert.pem'), 'utf8');
    return { certPem, keyPem: await fs.readFile(file('key.pem'), 'utf8'), chainPem: certPem + (options.ca?.certPem ?? '') };
  });
}
