/**
 * Where a berth on this machine keeps what its own CLI needs to reach it: the server writes these
 * files into its data dir, and `berth` run on the same machine without --url or BERTH_URL reads
 * them, so `berth apps:list` works on the server as typed, the way `dokku apps:list` does.
 */
import os from 'node:os';
import path from 'node:path';

/** /var/lib/berth for root, as for other system services; ~/.berth for anyone else. */
export function defaultDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/berth' : path.join(os.homedir(), '.berth');
}

/** The push token, 0600: only its owner (the user berth runs as) can read it. */
export function tokenFile(dataDir: string): string {
  return path.join(dataDir, 'token');
}

/** The admin API's address as seen from this machine, rewritten at every start. */
export function localUrlFile(dataDir: string): string {
  return path.join(dataDir, 'run', 'url');
}

/**
 * The SHA-256 fingerprint of the certificate the git port serves, rewritten whenever it changes,
 * so the CLI on this machine verifies the local berth with nothing set (its certificate, self-signed
 * or issued for the server's public name, never names the loopback address the CLI dials). Absent
 * while berth serves plain HTTP.
 */
export function localFingerprintFile(dataDir: string): string {
  return path.join(dataDir, 'run', 'fingerprint');
}

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** The git port's self-signed certificate (what BERTH_CA or git's http.sslCAInfo may name) and its key, 0600. */
export function selfSignedFiles(dataDir: string): CertificateFiles {
  const dir = path.join(dataDir, 'tls');
  return { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') };
}

/** The address a client on this machine uses for a server bound to `listenHost`. */
export function localUrl(listenHost: string, port: number, scheme: 'https' | 'http' = 'https'): string {
  const host = listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '' ? '127.0.0.1' : listenHost;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
