import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { BerthError, describe } from '../errors.js';

const run = promisify(execFile);

/**
 * nginx refuses to listen for TLS without a certificate in its config, though the edge serves
 * every app's from memory (ssl_certificate_by_lua) and fails the handshake of any other name: this
 * self-signed one is never served. Made once, by the openssl command (Node can make keys but not
 * certificates, and openssl is on every machine with nginx's TLS), 0600 like every file berth
 * writes: nginx's master reads it as root at start.
 */
export async function ensurePlaceholderCertificate(certFile: string, keyFile: string): Promise<void> {
  const exists = async (file: string) => (await fs.stat(file).catch(() => undefined))?.isFile() === true;
  if ((await exists(certFile)) && (await exists(keyFile))) return;
  const [certTmp, keyTmp] = [`${certFile}.new`, `${keyFile}.new`];
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '36500', '-subj', '/CN=berth placeholder, never served', '-keyout', keyTmp, '-out', certTmp]);
  } catch (error) {
    throw new BerthError(`could not make the edge's placeholder TLS certificate with openssl: ${describe(error)}`, 'install openssl (apt-get install openssl)');
  }
  for (const file of [keyTmp, certTmp]) await fs.chmod(file, 0o600);
  await fs.rename(keyTmp, keyFile);
  await fs.rename(certTmp, certFile);
}
