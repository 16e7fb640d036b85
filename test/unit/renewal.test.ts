// When certificates renew and how failures are retried: pure rules of time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_RETRY_MS, MAX_RETRY_MS, renewalTime, retryDelay } from '../../src/certs/renewal.js';

const DAY = 86400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

function validity(lifetimeMs: number) {
  return { notBefore: new Date(START).toISOString(), notAfter: new Date(START + lifetimeMs).toISOString() };
}

test('a 90-day certificate renews at day 60, a year-long one 30 days before it ends, a short-lived one at two thirds of its life', () => {
  assert.equal(renewalTime(validity(90 * DAY)), START + 60 * DAY);
  assert.equal(renewalTime(validity(365 * DAY)), START + 335 * DAY);
  assert.equal(renewalTime(validity(6 * DAY)), START + 4 * DAY);
  assert.equal(renewalTime(validity(60_000)), START + 40_000);
});

test('retries wait 10 minutes, then twice as long each time, at most 12 hours and a tenth of the lifetime', () => {
  assert.equal(retryDelay(1), FIRST_RETRY_MS);
  assert.equal(retryDelay(2), 2 * FIRST_RETRY_MS);
  assert.equal(retryDelay(4), 8 * FIRST_RETRY_MS);
  assert.equal(retryDelay(30), MAX_RETRY_MS);
  assert.equal(retryDelay(1, validity(90 * DAY)), FIRST_RETRY_MS);
  assert.equal(retryDelay(3, validity(60_000)), 6000);
  assert.equal(retryDelay(1, validity(2000)), 1000, 'never less than a second');
});
