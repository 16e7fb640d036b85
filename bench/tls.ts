import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BenchCertificate {
  certFile: string;
  keyFile: string;
  remove(): Promise<void>;
}

/**
 * A self-signed certificate for the names the HTTPS variants are asked at. wrk takes the TLS
 * server name from the URL, and only `localhost` resolves here, so every variant answers to it.
 */
export async function benchCertificate(names: string[]): Promise<BenchCertificate> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-bench-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const san = names.map((name) => `DNS:${name}`).join(',');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`, '-keyout', keyFile, '-out', certFile]);
  return { certFile, keyFile, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}
