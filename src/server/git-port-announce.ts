/** What `berth serve` prints at start about its git port: where it listens, how clients verify it, and the push URL. */
import net from 'node:net';
import type { ServedCertificate } from './certificate.js';
import type { ServeOptions } from './options.js';
import { announceToken, type ServeToken } from './token.js';

type AnnouncedOptions = Pick<ServeOptions, 'listenHost' | 'serverName'>;

/** The name to put in URLs a client on another machine uses: the --server-name, or a placeholder. */
function clientHost(options: AnnouncedOptions): string {
  const name = options.serverName ?? '<this-host>';
  return net.isIPv6(name) ? `[${name}]` : name;
}

export function gitPortAnnouncement(options: AnnouncedOptions, gitPort: number, certificate: ServedCertificate | undefined, token: ServeToken): string[] {
  const origin = `${certificate ? 'https' : 'http'}://${clientHost(options)}:${gitPort}`;
  const lines = [`git push server and admin API listening on ${options.listenHost}:${gitPort} over ${certificate ? 'HTTPS' : 'plain HTTP'}`];
  lines.push(...(certificate ? certificateLines(certificate, origin) : insecureLines(options)));
  const pushUrl = (shown: string) => `${origin.replace('://', `://berth:${shown}@`)}/APP.git`;
  return [...lines, ...announceToken(token, pushUrl)];
}

function certificateLines(certificate: ServedCertificate, origin: string): string[] {
  const { certFile, names, issuer, validTo, fingerprint } = certificate;
  const until = validTo.toISOString().slice(0, 10);
  const which = {
    'self-signed': `berth's self-signed certificate ${certFile}`,
    given: `the certificate of --tls-cert ${certFile}, issued by ${issuer},`,
    acme: `a certificate from ACME (${certFile}), issued by ${issuer},`,
  }[certificate.origin];
  const lines = [`TLS: ${which} for ${names.join(', ') || 'no names'}, valid until ${until}`, `TLS: SHA-256 fingerprint ${fingerprint}`];
  if (certificate.origin === 'self-signed') {
    lines.push(
      `clients: berth login ${origin} shows this fingerprint to compare, pins it and saves the certificate for git (or set BERTH_CA to a copy of ${certFile})`,
      `git: git config --global http.${origin}/.sslCAInfo FILE, FILE a copy of ${certFile} (berth login prints this line with the file it saved)`,
    );
  }
  return [...lines, ...certificate.warnings.map((warning) => `warning: ${warning}`)];
}

function insecureLines(options: AnnouncedOptions): string[] {
  return [
    'WARNING: --insecure-http: the git port speaks plain HTTP. The token and every push cross the connection in clear.',
    `WARNING: berth listens on ${options.listenHost} (loopback) only, so they stay on this machine; put a TLS proxy of this host in front, or drop --insecure-http to serve HTTPS.`,
  ];
}
