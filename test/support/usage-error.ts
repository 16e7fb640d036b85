import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';

/** run throws a UsageError whose message is expected, or matches it. */
export function assertUsageError(run: () => unknown, expected: string | RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${String(error)}`);
    if (typeof expected === 'string') assert.equal(error.message, expected);
    else assert.match(error.message, expected);
    return true;
  });
}
