import { BerthError, describe } from '../errors.js';
import type { CertificateAuthority } from './acme.js';
import { checkCertificatePair, type CertificatePair } from './certificate.js';
import { retryDelay } from './renewal.js';
import type { CertificateMeta, CertStore } from './store.js';

/** Getting a certificate failed; it is recorded, with when berth tries again. */
export class IssueFailure extends BerthError {
  constructor(
    message: string,
    hint: string | undefined,
    readonly nextAttemptAt: Date,
  ) {
    super(message, hint);
  }
}

/**
 * One certificate from the authority for `names`, checked and stored under `key` (an app, or the
 * git port's), as an app's and the git port's certificates both get theirs. A failure is recorded
 * with the next attempt, by the back-off rules, and thrown as an IssueFailure; what was stored
 * before stays.
 */
export async function issueAndStore(deps: { store: CertStore; authority: CertificateAuthority; now(): Date }, key: string, label: string, names: string[], meta: CertificateMeta, progress: (line: string) => void): Promise<CertificatePair> {
  const at = deps.now();
  let pair: CertificatePair;
  try {
    const issued = await deps.authority.issue(names, progress);
    pair = checkCertificatePair({ app: label, certPem: issued.chainPem, keyPem: issued.keyPem, hostNames: names, now: deps.now() });
  } catch (error) {
    const next = new Date(at.getTime() + retryDelay(meta.renewal.failures + 1, meta.certificate));
    const hint = error instanceof BerthError ? error.hint : undefined;
    await deps.store.recordFailure(key, { message: describe(error), hint }, at, next);
    throw new IssueFailure(describe(error), hint, next);
  }
  await deps.store.save(key, pair, { source: 'acme', directory: deps.authority.directory }, at);
  return pair;
}
