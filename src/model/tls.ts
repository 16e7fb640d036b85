/**
 * How berth's own port and its clients name a certificate: by the SHA-256 fingerprint of the
 * certificate (DER), written as `openssl x509 -noout -fingerprint -sha256` and browsers show it,
 * so a user can compare what `berth serve` printed with what `berth login` shows.
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';

/** `AB:CD:...`, 32 pairs of upper-case hex digits. */
export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

export const FINGERPRINT_RULE = 'the 64 hex digits of a SHA-256 fingerprint, with or without colons (a "SHA256:" or "sha256 Fingerprint=" in front is fine)';

/**
 * A fingerprint as a user pastes it (lower case, no colons, openssl's `sha256 Fingerprint=` or a
 * `SHA256:` in front) in the one form berth compares; undefined when it is no SHA-256 fingerprint.
 */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.trim().replace(/^(sha-?256\s*(fingerprint)?\s*[:=]?\s*)/i, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]{64}$/i.test(hex)) return undefined;
  return hex.toUpperCase().match(/../g)!.join(':');
}

/** 127.0.0.0/8, ::1 and `localhost`: nothing sent there leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

/** The names of a certificate's subjectAltName (`DNS:a, IP Address:0:0:0:0:0:0:0:1`), IPv6 addresses written short (`::1`). */
export function certificateNames(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '').split(', ').filter(Boolean).map((entry) => {
    const name = entry.replace(/^(DNS|IP Address):/, '');
    return net.isIPv6(name) ? new URL(`http://[${name}]/`).hostname.slice(1, -1) : name;
  });
}
