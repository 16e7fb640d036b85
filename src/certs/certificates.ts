import { BerthError, ConflictError, describe } from '../errors.js';
import type { AppLocks } from '../deploy/lock.js';
import { appHostNames, DEFAULT_PROXY_OPTIONS } from '../model/app.js';
import type { CertificateInfo, CertificateState, CertificateSummary } from '../model/api.js';
import type { ReverseProxy } from '../proxy/reverse-proxy.js';
import type { AppRecord, Store } from '../store/store.js';
import type { CertificateAuthority } from './acme.js';
import { checkCertificatePair, covers, namesToCover, type CertificatePair } from './certificate.js';
import { issueAndStore, IssueFailure } from './issue.js';
import { renewalTime } from './renewal.js';
import type { CertificateMeta, CertStore } from './store.js';

export interface CertificatesDeps {
  store: CertStore;
  apps: Store;
  proxy: Pick<ReverseProxy, 'setCertificate' | 'setAppOptions'>;
  authority: CertificateAuthority;
  locks: AppLocks;
  domain: string;
  /** --acme-auto: certs:auto for every app that has not turned it off. */
  acmeAuto: boolean;
  log(line: string): void;
  now(): Date;
}

/** A line of what berth does while it gets a certificate, for the pusher-like output or the log. */
export type Progress = (line: string) => void;

/** A certificate the edge did not take is offered again this soon. */
export const HAND_RETRY_MS = 30_000;

/** Why an app needs a certificate from ACME, and from when berth may try. */
interface IssuePlan {
  at: number;
  reason: string;
}

/**
 * Every app's certificate: what is stored, what the edge serves, and getting, installing and
 * renewing one. Operations on one app's certificate hold its certificate lock (never the app's
 * own lock, so a deploy does not wait for an ACME exchange); the edge is only ever told through
 * setCertificate and setAppOptions, never reloaded.
 */
export class Certificates {
  /** Apps whose stored certificate the edge has not taken since berth started, or since their host names changed: when to offer it again. */
  private readonly unhanded = new Map<string, number>();
  private wake: () => void = () => undefined;

  constructor(private readonly deps: CertificatesDeps) {}

  /** Called whenever something may have become due sooner than the schedule knows. */
  onChange(wake: () => void): void {
    this.wake = wake;
  }

  private hostNames(app: AppRecord): string[] {
    return appHostNames(app, this.deps.domain);
  }

  private isAuto(meta: CertificateMeta): boolean {
    return meta.auto ?? this.deps.acmeAuto;
  }

  private withCertificateLock<T>(app: string, what: string, work: () => Promise<T>): Promise<T> {
    return this.deps.locks.acquire(certificateLock(app), { description: what, since: Date.now() }, () => undefined).then(async (unlock) => {
      try {
        return await work();
      } finally {
        unlock();
      }
    });
  }

  /** The app's record as it is now; the app may have been destroyed while this waited. */
  private async current(app: string): Promise<AppRecord> {
    const record = await this.deps.apps.getApp(app);
    if (!record) throw new ConflictError(`${app} was destroyed meanwhile`);
    return record;
  }

  async info(app: AppRecord): Promise<CertificateInfo> {
    const meta = await this.deps.store.meta(app.name);
    const names = namesToCover(this.hostNames(app));
    const stored = meta.certificate;
    const certificate = stored && {
      names: stored.names,
      issuer: stored.issuer,
      notBefore: stored.notBefore,
      notAfter: stored.notAfter,
      source: stored.source,
      renewsAt: new Date(renewalTime(stored)).toISOString(),
      serves: this.hostNames(app).filter((host) => covers(stored.names, host)),
    };
    const { lastError, nextAttemptAt } = meta.renewal;
    return {
      app: app.name,
      auto: this.isAuto(meta),
      names,
      certificate: certificate ?? null,
      uncovered: stored ? names.filter((host) => !covers(stored.names, host)) : names,
      state: this.state(app, meta),
      lastError: lastError ? { message: lastError.message, hint: lastError.hint ?? null, at: lastError.at } : null,
      nextAttemptAt: nextAttemptAt ?? null,
      proxy: app.proxy,
    };
  }

  async summary(app: AppRecord): Promise<CertificateSummary | null> {
    const meta = await this.deps.store.meta(app.name);
    const state = this.state(app, meta);
    if (!state) return null;
    return { state, auto: this.isAuto(meta), notAfter: meta.certificate?.notAfter ?? null, lastError: meta.renewal.lastError?.message ?? null, nextAttemptAt: meta.renewal.nextAttemptAt ?? null };
  }

  private state(app: AppRecord, meta: CertificateMeta): CertificateState | null {
    const now = this.deps.now().getTime();
    const certificate = meta.certificate;
    const auto = this.isAuto(meta) && namesToCover(this.hostNames(app)).length > 0;
    if (!certificate) return auto ? (meta.renewal.lastError ? 'failing' : 'missing') : null;
    if (Date.parse(certificate.notAfter) <= now) return 'expired';
    if (auto && meta.renewal.lastError) return 'failing';
    const uncovered = namesToCover(this.hostNames(app)).some((host) => !covers(certificate.names, host));
    if (now >= renewalTime(certificate) || uncovered) return 'due';
    return 'valid';
  }

  /** certs:auto: on, and a certificate at once when the app has none that fits. */
  async enableAuto(app: string, progress: Progress): Promise<CertificateInfo> {
    return this.withCertificateLock(app, 'certs:auto', async () => {
      const record = await this.current(app);
      const hostNames = this.hostNames(record);
      if (!namesToCover(hostNames).length) {
        throw new ConflictError(`${app} has no host name a certificate authority can validate (${hostNames.join(', ')}: names under .localhost never leave this machine)`, `give it a domain that points at this server first: berth domains:add ${app} shop.example.com`);
      }
      const meta = await this.deps.store.setAuto(app, true);
      const plan = this.plan(record, { ...meta, renewal: { failures: 0 } });
      if (plan && plan.at <= this.deps.now().getTime()) await this.issue(record, meta, plan.reason, progress);
      else progress(`${app} has a certificate for ${meta.certificate!.names.join(', ')} until ${meta.certificate!.notAfter}; berth renews it from ${new Date(renewalTime(meta.certificate!)).toISOString()}`);
      return this.info(await this.current(app));
    });
  }

  /** certs:auto --off: no more renewals; a certificate it has serves on until it expires. */
  async disableAuto(app: string): Promise<CertificateInfo> {
    return this.withCertificateLock(app, 'certs:auto --off', async () => {
      await this.deps.store.setAuto(app, false);
      return this.info(await this.current(app));
    });
  }

  /**
   * certs:add: checked against the app's host names, then served, then stored; certs:auto goes
   * off, so berth never replaces a certificate someone brought. A certificate that fails a check
   * changes nothing.
   */
  async install(app: string, certPem: string, keyPem: string): Promise<CertificateInfo> {
    return this.withCertificateLock(app, 'certs:add', async () => {
      const record = await this.current(app);
      const pair = checkCertificatePair({ app, certPem, keyPem, hostNames: this.hostNames(record), now: this.deps.now() });
      await this.serve(record, pair).catch((error: unknown) => {
        throw new BerthError(`the edge did not take the certificate for ${app}: ${describe(error)}; nothing changed`, 'see berth status for the edge nginx, then try again');
      });
      this.unhanded.delete(app);
      await this.deps.store.save(app, pair, { source: 'manual' }, this.deps.now());
      await this.deps.store.setAuto(app, false);
      return this.info(record);
    });
  }

  /** certs:remove: the edge stops serving it, and certs:auto goes off so berth does not get another. */
  async remove(app: string): Promise<CertificateInfo> {
    return this.withCertificateLock(app, 'certs:remove', async () => {
      const record = await this.current(app);
      const meta = await this.deps.store.meta(app);
      if (!meta.certificate) throw new ConflictError(`${app} has no certificate`, `see berth certs:info ${app}`);
      await this.deps.proxy.setCertificate(app, undefined);
      this.unhanded.delete(app);
      await this.deps.store.removeCertificate(app);
      await this.deps.store.setAuto(app, false);
      return this.info(record);
    });
  }

  /**
   * The app's host names changed (domains:add or remove; the caller holds the app's lock): its
   * certificate is served for the new set, and an automatic one re-issued for it, both in the
   * background, so the domains command does not wait for an ACME exchange.
   */
  async hostNamesChanged(app: string): Promise<void> {
    const meta = await this.deps.store.meta(app);
    if (meta.certificate) this.unhanded.set(app, 0);
    if (this.isAuto(meta) && meta.renewal.nextAttemptAt) await this.deps.store.retryNow(app);
    this.wake();
  }

  /** apps:destroy: the edge stops serving its certificate, and everything stored of it goes. */
  async forget(app: string): Promise<void> {
    await this.withCertificateLock(app, 'apps:destroy', async () => {
      if ((await this.deps.store.meta(app)).certificate) await this.deps.proxy.setCertificate(app, undefined);
      this.unhanded.delete(app);
      await this.deps.store.forget(app);
    });
  }

  /**
   * At berth's start: every stored certificate and every app's options go to the edge, so an
   * nginx that restarted while berth was down serves what berth has. One the edge refuses is
   * logged and offered again by the schedule; berth starts regardless.
   */
  async handAll(): Promise<void> {
    for (const name of await this.deps.apps.listApps()) {
      const app = await this.deps.apps.getApp(name);
      if (!app) continue;
      const pair = await this.deps.store.pair(name);
      if (!pair && sameOptions(app.proxy, DEFAULT_PROXY_OPTIONS)) continue;
      await this.hand(app, pair).catch((error: unknown) => this.deps.log(`${name}: ${describe(error)}`));
    }
  }

  /** One round of the schedule: what the edge has not taken is offered again, what is due is issued. */
  async round(): Promise<void> {
    for (const name of await this.deps.apps.listApps()) {
      await this.withCertificateLock(name, 'renewing certificates', () => this.keep(name)).catch((error: unknown) => this.deps.log(`${name}: ${describe(error)}`));
    }
  }

  /** When the next round has something to do, if ever. */
  async nextDueAt(): Promise<number | undefined> {
    let next: number | undefined;
    for (const name of await this.deps.apps.listApps()) {
      const app = await this.deps.apps.getApp(name);
      if (!app) continue;
      for (const at of [this.unhanded.get(name), this.plan(app, await this.deps.store.meta(name))?.at]) {
        if (at !== undefined) next = Math.min(next ?? at, at);
      }
    }
    return next;
  }

  private async keep(name: string): Promise<void> {
    const app = await this.deps.apps.getApp(name);
    if (!app) return;
    const log = (line: string) => this.deps.log(`${name}: ${line}`);
    if ((this.unhanded.get(name) ?? Infinity) <= this.deps.now().getTime()) await this.hand(app, await this.deps.store.pair(name)).catch((error: unknown) => log(describe(error)));
    const meta = await this.deps.store.meta(name);
    const plan = this.plan(app, meta);
    if (!plan || plan.at > this.deps.now().getTime()) return;
    await this.issue(app, meta, plan.reason, log).catch((error: unknown) => log(describe(error)));
  }

  /** Whether the app needs a certificate from ACME, why, and from when (its renewal time, or its next retry). */
  private plan(app: AppRecord, meta: CertificateMeta): IssuePlan | undefined {
    const names = namesToCover(this.hostNames(app));
    if (!this.isAuto(meta) || !names.length) return undefined;
    const retryAt = meta.renewal.nextAttemptAt ? Date.parse(meta.renewal.nextAttemptAt) : 0;
    const certificate = meta.certificate;
    const uncovered = certificate ? names.filter((host) => !covers(certificate.names, host)) : names;
    const extra = certificate ? certificate.names.filter((name) => !names.includes(name)) : [];
    let plan: IssuePlan;
    if (!certificate) plan = { at: 0, reason: 'it has none' };
    else if (certificate.source !== 'acme') plan = { at: 0, reason: 'its certificate was brought with certs:add' };
    else if (certificate.directory !== this.deps.authority.directory) plan = { at: 0, reason: `its certificate came from ${certificate.directory}` };
    else if (uncovered.length) plan = { at: 0, reason: `its certificate does not cover ${uncovered.join(', ')}` };
    else if (extra.length) plan = { at: 0, reason: `its certificate still names ${extra.join(', ')}` };
    else plan = { at: renewalTime(certificate), reason: `its certificate expires on ${certificate.notAfter}` };
    return { ...plan, at: Math.max(plan.at, retryAt) };
  }

  /**
   * Gets a certificate for the app's names, stores it, and hands it to the edge. A failure is
   * recorded with the time of the next attempt and thrown; the certificate the app had stays
   * stored and served.
   */
  private async issue(app: AppRecord, meta: CertificateMeta, reason: string, progress: Progress): Promise<void> {
    const names = namesToCover(this.hostNames(app));
    progress(`Getting a certificate for ${app.name} (${reason})`);
    let pair: CertificatePair;
    try {
      pair = await issueAndStore(this.deps, app.name, app.name, names, meta, progress);
    } catch (error) {
      if (!(error instanceof IssueFailure)) throw error;
      this.wake();
      const kept = meta.certificate ? `; the certificate it has (until ${meta.certificate.notAfter}) serves on` : '';
      throw new BerthError(`getting a certificate for ${app.name} failed: ${error.message}${kept}; berth tries again at ${error.nextAttemptAt.toISOString()}`, error.hint);
    }
    this.wake();
    progress(`Issued by ${pair.facts.issuer} for ${pair.facts.names.join(', ')}, valid until ${pair.facts.notAfter}`);
    await this.hand(await this.current(app.name), pair);
    progress(`The edge serves it over HTTPS for ${this.hostNames(app).filter((host) => covers(pair.facts.names, host)).join(', ')}`);
  }

  /** The edge gets the app's options and certificate; until it takes them, the schedule offers them again. */
  private async hand(app: AppRecord, pair: CertificatePair | undefined): Promise<void> {
    try {
      await this.serve(app, pair);
      this.unhanded.delete(app.name);
    } catch (error) {
      if (!pair) throw new BerthError(`the edge did not take the proxy options: ${describe(error)}`);
      this.unhanded.set(app.name, this.deps.now().getTime() + HAND_RETRY_MS);
      this.wake();
      throw new BerthError(`the certificate is stored, but the edge did not take it: ${describe(error)}; berth offers it again in ${HAND_RETRY_MS / 1000} s`, 'see berth status for the edge nginx');
    }
  }

  /** For the host names of the app that the certificate covers; none left, the edge serves none for the app. */
  private async serve(app: AppRecord, pair: CertificatePair | undefined): Promise<void> {
    const { proxy } = this.deps;
    await proxy.setAppOptions(app.name, app.proxy);
    if (!pair) return;
    const hosts = this.hostNames(app).filter((host) => covers(pair.facts.names, host));
    await proxy.setCertificate(app.name, hosts.length ? { hosts, certPem: pair.chainPem, keyPem: pair.keyPem } : undefined);
  }
}

/** The lock of an app's certificate; no app can be named so (app names start with a letter). */
function certificateLock(app: string): string {
  return `*certificate:${app}`;
}

function sameOptions(a: { redirectHttps: boolean; hsts: boolean }, b: { redirectHttps: boolean; hsts: boolean }): boolean {
  return a.redirectHttps === b.redirectHttps && a.hsts === b.hsts;
}
