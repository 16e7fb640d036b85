/**
 * How the CLI decides that the server it talks to is the berth it means, before the token is
 * sent: a fingerprint pinned for it (by `berth login`, or the local berth's own in its data dir)
 * must match, like an ssh host key, or else the certificate must be signed by a CA the client
 * trusts (Node's list, or only the one in BERTH_CA) and name the host. The local berth's pin is
 * the only check: berth rewrites it whenever its certificate changes.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { describe, UsageError } from '../errors.js';
import { certificateNames } from '../model/tls.js';
import { CliError, EXIT } from './exit.js';

export interface Trust {
  /** The SHA-256 fingerprint the certificate must have, unless a CA the client trusts vouches for it and names the host. */
  fingerprint?: string;
  /** Who pinned it, for what an error says to do. */
  pinnedBy?: 'login' | 'local';
  /** A PEM file of the CA certificates to trust instead of Node's list (BERTH_CA). */
  caFile?: string;
}

/** Exit status 3, as for a server that cannot be reached: nothing was sent to it. */
export class TrustError extends CliError {
  constructor(message: string, hint: string) {
    super(message, EXIT.unreachable, hint);
    this.name = 'TrustError';
  }
}

/** The undici Agent every request of the client goes through: it checks each TLS connection before a request is written on it. */
export function verifyingAgent(url: string, trust: Trust): Agent {
  // No session resumption: each connection shows its certificate again and is checked again.
  const connect = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0, ca: readCa(trust.caFile) });
  return new Agent({
    connect: (options, callback) => {
      connect(options, (error, socket) => {
        if (error || !socket) return callback(error ?? new Error('no connection'), null);
        const refused = 'encrypted' in socket ? refusal(url, socket as TLSSocket, trust) : undefined;
        if (!refused) return callback(null, socket);
        socket.destroy();
        callback(refused, null);
      });
    },
  });
}

export function readCa(caFile: string | undefined): string | undefined {
  if (caFile === undefined) return undefined;
  try {
    return fs.readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the CA file in BERTH_CA (${caFile}): ${describe(error)}`, 'set BERTH_CA to a PEM file of the CA that signed berth\'s certificate (or berth\'s self-signed certificate itself)');
  }
}

function refusal(url: string, socket: TLSSocket, trust: Trust): TrustError | undefined {
  const presented = socket.getPeerCertificate().fingerprint256;
  if (trust.fingerprint === presented) return undefined;
  // A pin stands in for a CA, for a certificate none vouches for; once one does (berth got its
  // certificate from ACME), the pinned self-signed one is simply replaced.
  if (socket.authorized && trust.pinnedBy !== 'local') return undefined;
  if (trust.fingerprint !== undefined) return changedCertificate(url, trust, presented);
  return untrustedCertificate(url, untrustedReason(url, String(socket.authorizationError)), presented, trust.caFile);
}

function changedCertificate(url: string, trust: Trust, presented: string): TrustError {
  if (trust.pinnedBy === 'local') {
    return new TrustError(
      `the berth on this machine at ${url} presents a certificate with SHA-256 fingerprint ${presented}, not the ${trust.fingerprint} its data dir names (run/fingerprint)`,
      'is another server on that port? Restart berth serve, or point the client at the server with --url or BERTH_URL',
    );
  }
  return new TrustError(
    `the certificate of ${url} has changed since berth login pinned it: it now has SHA-256 fingerprint ${presented}, the pinned one is ${trust.fingerprint}`,
    `someone may be intercepting the connection, or berth got a new certificate. Compare with the fingerprint berth serve printed at its last start; if it is berth's, pin it again with: berth login ${url}`,
  );
}

export function untrustedCertificate(url: string, reason: string, presented: string, caFile: string | undefined): TrustError {
  const hint = caFile
    ? `BERTH_CA (${caFile}) is the only CA trusted: set it to the CA that signed berth's certificate, or unset it and pin the certificate with berth login ${url}`
    : `if it is berth's self-signed certificate, compare the fingerprint with the one berth serve printed at start and pin it: berth login ${url}. For a certificate of a private CA, set BERTH_CA to the CA's PEM file`;
  return new TrustError(`the certificate of ${url} is not trusted: ${reason} (SHA-256 fingerprint ${presented}); nothing was sent`, hint);
}

const REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a CA this client does not trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'no CA this client trusts issued it',
  UNABLE_TO_GET_ISSUER_CERT: 'no CA this client trusts issued it',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'no CA this client trusts issued it',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
};

/** Node's verify error (a code such as DEPTH_ZERO_SELF_SIGNED_CERT) in words. */
export function untrustedReason(url: string, code: string): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `it does not name ${new URL(url).hostname}`;
  return REASONS[code] ?? code;
}

/** What `berth login` is shown of a server before it trusts it. */
export interface PresentedCertificate {
  pem: string;
  fingerprint: string;
  names: string[];
  validTo: string;
  /** Whether a CA the client trusts (Node's list, or BERTH_CA) vouches for it, and it names the host. */
  authorized: boolean;
  /** Why not, in words. */
  reason: string | undefined;
}

/** Opens a TLS connection to the server and closes it after the handshake; nothing is sent. */
export function presentedCertificate(url: string, caFile: string | undefined, timeoutMs = 10_000): Promise<PresentedCertificate> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port: Number(port || 443), servername: net.isIP(host) ? undefined : host, ca: readCa(caFile), rejectUnauthorized: false, timeout: timeoutMs });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      resolve(describePresented(url, cert, socket));
      socket.end();
    });
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs / 1000} s`)));
    socket.once('error', reject);
  });
}

function describePresented(url: string, cert: PeerCertificate, socket: TLSSocket): PresentedCertificate {
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const reason = socket.authorized ? undefined : untrustedReason(url, String(socket.authorizationError));
  return { pem, fingerprint: cert.fingerprint256, names: certificateNames(cert.subjectaltname), validTo: new Date(cert.valid_to).toISOString().slice(0, 10), authorized: socket.authorized, reason };
}
