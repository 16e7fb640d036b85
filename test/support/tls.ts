import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

/** A self-signed certificate for these host names (the first is its subject), from the openssl command. */
export function selfSignedCertificate(hosts: string[], days = 2): TestCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-cert-'));
  try {
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    const names = hosts.map((host) => `DNS:${host}`).join(',');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', String(days), '-subj', `/CN=${hosts[0]}`, '-addext', `subjectAltName=${names}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
    return { certPem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
