/**
 * When berth renews a certificate and how it retries one that failed: pure rules of time, so
 * the schedule, `berth status` and `certs:info` all say the same, and tests need no clock.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** Renewal starts this long before expiry (Let's Encrypt's advice for its 90-day certificates). */
export const RENEW_BEFORE_EXPIRY_MS = 30 * DAY_MS;

/** The first retry after a failed attempt; each further failure doubles it, up to MAX_RETRY_MS. */
export const FIRST_RETRY_MS = 10 * 60 * 1000;
export const MAX_RETRY_MS = 12 * 60 * 60 * 1000;
/** A retry never waits longer than this share of the certificate's lifetime, so a short-lived one is retried before it runs out. */
const RETRY_SHARE_OF_LIFETIME = 1 / 10;
const MIN_RETRY_MS = 1000;

export interface Validity {
  notBefore: string;
  notAfter: string;
}

function lifetimeMs(validity: Validity): number {
  return Date.parse(validity.notAfter) - Date.parse(validity.notBefore);
}

/**
 * 30 days before expiry, but never before two thirds of the lifetime: a 90-day certificate
 * renews at day 60 either way, a year-long one 30 days before it ends, and a short-lived one
 * (pebble's, or a 6-day one) once two thirds of its life are over, with a third left to retry in.
 */
export function renewalTime(validity: Validity): number {
  const notBefore = Date.parse(validity.notBefore);
  const twoThirds = notBefore + (lifetimeMs(validity) * 2) / 3;
  return Math.max(Date.parse(validity.notAfter) - RENEW_BEFORE_EXPIRY_MS, twoThirds);
}

/** How long after the `failures`-th failure in a row berth tries again: 10 min, 20, 40... at most 12 h, and a tenth of the lifetime. */
export function retryDelay(failures: number, validity?: Validity): number {
  const doubled = FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1);
  const cap = validity ? Math.min(MAX_RETRY_MS, lifetimeMs(validity) * RETRY_SHARE_OF_LIFETIME) : MAX_RETRY_MS;
  return Math.max(MIN_RETRY_MS, Math.min(doubled, cap));
}
