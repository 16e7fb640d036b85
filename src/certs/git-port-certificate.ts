import net from 'node:net';
import { BerthError, describe } from '../errors.js';
import type { CertificateState } from '../model/api.js';
import type { CertificateAuthority } from './acme.js';
import type { ServeOptions } from '../server/options.js';
import { needsCertificate, type CertificatePair } from './certificate.js';
import { issueAndStore, IssueFailure } from './issue.js';
import { renewalTime } from './renewal.js';
import type { CertificateMeta, CertStore } from './store.js';

/**
 * Where the git port's own certificate is kept in the certificate store. App names start with a
 * letter, so no app's folder is ever named so.
 */
export const GIT_PORT_CERTIFICATE = '_git-port';

export interface GitPortCertificateDeps {
  store: CertStore;
  authority: CertificateAuthority;
  /** --server-name: the one name the certificate is for. */
  serverName: string;
  log(line: string): void;
  now(): Date;
}

/** The git port's ACME certificate as berth status shows it. */
export interface GitPortAcmeState {
  state: CertificateState;
  notAfter: string | null;
  lastError: string | null;
  nextAttemptAt: string | null;
}

/**
 * The certificate of berth's own port for --server-name, from the same ACME server and through
 * the same edge (http-01 on --http-port) as the apps' certificates: issued once berth serves,
 * renewed on the apps' rules, and handed to the git port, which serves it from the next
 * connection. Until one is issued, and whenever renewing fails, the port keeps what it serves.
 */
export class GitPortCertificate {
  private serve: ((pair: CertificatePair & { chainFile: string }) => Promise<void>) | undefined;
  private wake: () => void = () => undefined;

  constructor(private readonly deps: GitPortCertificateDeps) {}

  get serverName(): string {
    return this.deps.serverName;
  }

  /** From now on a certificate berth gets goes to `serve` (the git port's listener). */
  handTo(serve: (pair: CertificatePair & { chainFile: string }) => Promise<void>): void {
    this.serve = serve;
  }

  onChange(wake: () => void): void {
    this.wake = wake;
  }

  async summary(): Promise<GitPortAcmeState> {
    const meta = await this.deps.store.meta(GIT_PORT_CERTIFICATE);
    const { certificate, renewal } = meta;
    const now = this.deps.now().getTime();
    let state: CertificateState = 'valid';
    if (!certificate) state = renewal.lastError ? 'failing' : 'missing';
    else if (Date.parse(certificate.notAfter) <= now) state = 'expired';
    else if (renewal.lastError) state = 'failing';
    else if (this.reissueBecause(meta) || now >= renewalTime(certificate)) state = 'due';
    return { state, notAfter: certificate?.notAfter ?? null, lastError: renewal.lastError?.message ?? null, nextAttemptAt: renewal.nextAttemptAt ?? null };
  }

  /** One round of the renewal schedule: a certificate when none fits or the one there is due. */
  async round(): Promise<void> {
    const meta = await this.deps.store.meta(GIT_PORT_CERTIFICATE);
    if (this.dueAt(meta) > this.deps.now().getTime()) return;
    await this.issue(meta).catch((error: unknown) => this.deps.log(describe(error)));
  }

  async nextDueAt(): Promise<number | undefined> {
    return this.dueAt(await this.deps.store.meta(GIT_PORT_CERTIFICATE));
  }

  private dueAt(meta: CertificateMeta): number {
    const retryAt = meta.renewal.nextAttemptAt ? Date.parse(meta.renewal.nextAttemptAt) : 0;
    const renewAt = meta.certificate && !this.reissueBecause(meta) ? renewalTime(meta.certificate) : 0;
    return Math.max(renewAt, retryAt);
  }

  /** Why the stored certificate cannot be renewed as it is but must be got anew; undefined when it can. */
  private reissueBecause(meta: CertificateMeta): string | undefined {
    return reissueBecause(meta, this.deps.serverName, this.deps.authority.directory);
  }

  private async issue(meta: CertificateMeta): Promise<void> {
    const { serverName, store, authority, log } = this.deps;
    const reason = this.reissueBecause(meta) ?? `the one it has expires on ${meta.certificate!.notAfter}`;
    log(`getting a certificate for the git port's --server-name ${serverName} from ${authority.directory} (${reason})`);
    let pair: CertificatePair;
    try {
      pair = await issueAndStore(this.deps, GIT_PORT_CERTIFICATE, 'the git port', [serverName], meta, (line) => log(`git port certificate: ${line}`));
    } catch (error) {
      if (!(error instanceof IssueFailure)) throw error;
      this.wake();
      throw new BerthError(`getting a certificate for the git port (${serverName}) failed: ${error.message}; it serves the certificate it has, and berth tries again at ${error.nextAttemptAt.toISOString()}`, error.hint);
    }
    this.wake();
    await this.serve?.({ ...pair, chainFile: store.chainFile(GIT_PORT_CERTIFICATE, pair.facts.fingerprint) });
    log(`got a certificate for the git port from ${pair.facts.issuer} for ${serverName}, valid until ${pair.facts.notAfter}`);
  }
}

/**
 * At start, before the git port listens: the stored certificate when it still fits (for
 * --server-name, from this ACME directory, valid now), with the file it is kept in.
 */
export async function storedGitPortCertificate(store: CertStore, serverName: string, directory: string, now: Date): Promise<(CertificatePair & { chainFile: string }) | undefined> {
  const meta = await store.meta(GIT_PORT_CERTIFICATE);
  if (!meta.certificate || reissueBecause(meta, serverName, directory)) return undefined;
  if (Date.parse(meta.certificate.notAfter) <= now.getTime()) return undefined;
  const pair = await store.pair(GIT_PORT_CERTIFICATE);
  return pair && { ...pair, chainFile: store.chainFile(GIT_PORT_CERTIFICATE, pair.facts.fingerprint) };
}

function reissueBecause(meta: CertificateMeta, serverName: string, directory: string): string | undefined {
  const certificate = meta.certificate;
  if (!certificate) return 'there is none';
  if (!certificate.names.includes(serverName)) return `it is for ${certificate.names.join(', ')}, not --server-name ${serverName}`;
  if (certificate.directory !== directory) return `it came from ${certificate.directory}`;
  return undefined;
}

/**
 * The name the git port gets an ACME certificate for: --server-name, when it is a name a CA can
 * validate (no IP address, nothing under .localhost), the operator brought no certificate, the
 * port serves HTTPS and --no-server-acme was not given.
 */
export function gitPortAcmeName(options: Pick<ServeOptions, 'serverName' | 'serverAcme' | 'tlsCert' | 'insecureHttp'>): string | undefined {
  const name = options.serverName;
  if (name === undefined || !options.serverAcme || options.tlsCert !== undefined || options.insecureHttp) return undefined;
  return net.isIP(name) || !needsCertificate(name) ? undefined : name;
}
