import fs from 'node:fs/promises';
import path from 'node:path';
import { readJson, writeFileAtomic } from '../store/atomic.js';
import type { CertificateFacts, CertificatePair } from './certificate.js';

/** acme: berth got it and renews it; manual: brought with certs:add. */
export type CertificateSource = 'acme' | 'manual';

export interface StoredCertificate extends CertificateFacts {
  source: CertificateSource;
  /** The ACME directory it came from: a certificate from another one (staging) is replaced. */
  directory?: string;
  installedAt: string;
}

/** The last attempt to get a certificate, and when the next one may run. */
export interface RenewalRecord {
  lastAttemptAt?: string;
  lastError?: { message: string; hint?: string; at: string };
  /** Failed attempts in a row; 0 after a success. */
  failures: number;
  nextAttemptAt?: string;
}

export interface CertificateMeta {
  /** certs:auto on or off; unset: --acme-auto decides. */
  auto?: boolean;
  certificate?: StoredCertificate;
  renewal: RenewalRecord;
}

const NO_ATTEMPT: RenewalRecord = { failures: 0 };

/**
 * Certificates under DATA_DIR/certs, readable by berth's user only (0700 folders, 0600 files):
 *   account-key.pem               the ACME account's key, made once
 *   APP/meta.json                 names, issuer, validity, auto on or off, the last attempt and its error
 *   APP/fullchain-FINGERPRINT.pem the chain, server certificate first
 *   APP/key-FINGERPRINT.pem       its key
 * A new pair is written under new names before meta.json names it, so a crash at any point leaves
 * meta.json naming a whole pair; the previous pair goes after. App names hold no dot, so no app's
 * folder can be named like account-key.pem.
 */
export class CertStore {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(readonly dataDir: string) {}

  get dir(): string {
    return path.join(this.dataDir, 'certs');
  }

  private appDir(app: string): string {
    return path.join(this.dir, app);
  }

  private metaFile(app: string): string {
    return path.join(this.appDir(app), 'meta.json');
  }

  /** The file of a stored chain, server certificate first. */
  chainFile(app: string, fingerprint: string): string {
    return path.join(this.appDir(app), `fullchain-${fingerprint.slice(0, 16)}.pem`);
  }

  private keyFile(app: string, fingerprint: string): string {
    return path.join(this.appDir(app), `key-${fingerprint.slice(0, 16)}.pem`);
  }

  /** Apps with anything stored: a certificate, a setting or an attempt. */
  async apps(): Promise<string[]> {
    const entries = await fs.readdir(this.dir, { withFileTypes: true }).catch(() => []);
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  }

  async meta(app: string): Promise<CertificateMeta> {
    const meta = await readJson<CertificateMeta>(this.metaFile(app));
    return { ...meta, renewal: { ...NO_ATTEMPT, ...meta?.renewal } };
  }

  /** The stored chain and key, when the app has a certificate. */
  async pair(app: string): Promise<CertificatePair | undefined> {
    const { certificate } = await this.meta(app);
    if (!certificate) return undefined;
    const [chainPem, keyPem] = await Promise.all([fs.readFile(this.chainFile(app, certificate.fingerprint), 'utf8'), fs.readFile(this.keyFile(app, certificate.fingerprint), 'utf8')]);
    const { source: _source, directory: _directory, installedAt: _installedAt, ...facts } = certificate;
    return { chainPem, keyPem, facts };
  }

  /** The app's certificate from now on; an attempt that got it ends the failures. */
  async save(app: string, pair: CertificatePair, origin: { source: CertificateSource; directory?: string }, at: Date): Promise<void> {
    await this.serialized(app, async () => {
      const { fingerprint } = pair.facts;
      await writeFileAtomic(this.keyFile(app, fingerprint), pair.keyPem, 0o600);
      await writeFileAtomic(this.chainFile(app, fingerprint), pair.chainPem, 0o600);
      const meta = await this.meta(app);
      const renewal = origin.source === 'acme' ? { failures: 0, lastAttemptAt: at.toISOString() } : NO_ATTEMPT;
      await this.writeMeta(app, { ...meta, certificate: { ...pair.facts, ...origin, installedAt: at.toISOString() }, renewal });
      await this.removePairsBut(app, fingerprint);
    });
  }

  async setAuto(app: string, auto: boolean): Promise<CertificateMeta> {
    return this.update(app, (meta) => ({ ...meta, auto, renewal: auto ? meta.renewal : NO_ATTEMPT }));
  }

  /** A failed attempt: kept for certs:info and status, with when to try again. */
  async recordFailure(app: string, error: { message: string; hint?: string }, at: Date, nextAttemptAt: Date): Promise<CertificateMeta> {
    return this.update(app, (meta) => ({
      ...meta,
      renewal: { lastAttemptAt: at.toISOString(), lastError: { ...error, at: at.toISOString() }, failures: meta.renewal.failures + 1, nextAttemptAt: nextAttemptAt.toISOString() },
    }));
  }

  /** The next attempt may run at once (the app's host names changed): the error stays shown until then. */
  async retryNow(app: string): Promise<void> {
    await this.update(app, (meta) => ({ ...meta, renewal: { ...meta.renewal, nextAttemptAt: undefined } }));
  }

  /** The certificate goes; whether certs:auto is on stays. */
  async removeCertificate(app: string): Promise<void> {
    await this.update(app, (meta) => ({ ...meta, certificate: undefined, renewal: NO_ATTEMPT }));
    await this.serialized(app, () => this.removePairsBut(app, undefined));
  }

  /** Everything of the app: it is destroyed. */
  async forget(app: string): Promise<void> {
    await this.serialized(app, () => fs.rm(this.appDir(app), { recursive: true, force: true }));
  }

  /** The ACME account's key: made by `create` the first time, then always the same. */
  async accountKey(create: () => Promise<string>): Promise<string> {
    return this.serialized('*account', async () => {
      const file = path.join(this.dir, 'account-key.pem');
      const existing = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (existing) return existing;
      const key = await create();
      await writeFileAtomic(file, key, 0o600);
      return key;
    });
  }

  private update(app: string, change: (meta: CertificateMeta) => CertificateMeta): Promise<CertificateMeta> {
    return this.serialized(app, async () => {
      const meta = change(await this.meta(app));
      await this.writeMeta(app, meta);
      return meta;
    });
  }

  private writeMeta(app: string, meta: CertificateMeta): Promise<void> {
    return writeFileAtomic(this.metaFile(app), JSON.stringify(meta, null, 2) + '\n', 0o600);
  }

  private async removePairsBut(app: string, fingerprint: string | undefined): Promise<void> {
    const keep = fingerprint ? [path.basename(this.chainFile(app, fingerprint)), path.basename(this.keyFile(app, fingerprint))] : [];
    const files = await fs.readdir(this.appDir(app)).catch(() => [] as string[]);
    for (const file of files.filter((name) => /^(fullchain|key)-[0-9a-f]+\.pem$/.test(name) && !keep.includes(name))) {
      await fs.rm(path.join(this.appDir(app), file), { force: true });
    }
  }

  private serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.queues.set(key, next.catch(() => undefined));
    return next;
  }
}
