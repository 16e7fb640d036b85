// What the property tests share. fast-check runs them: a failure is shrunk to the smallest input
// that still fails, and its report names the seed (and path) that replay it.
import fc from 'fast-check';

/**
 * Runs `numRuns` inputs drawn from `defaultSeed`, so every run tests the same inputs and a
 * failure in CI fails the same way here. BERTH_PROPERTY_SEED=<seed> draws from another seed: the
 * one a failure report names, which replays that run and shrinks to the same counterexample, or
 * any other, to explore inputs the default seed never draws.
 */
export function propertyParameters(numRuns: number, defaultSeed: number): { numRuns: number; seed: number } {
  const raw = process.env.BERTH_PROPERTY_SEED;
  if (raw === undefined || raw === '') return { numRuns, seed: defaultSeed };
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`BERTH_PROPERTY_SEED must be a whole number (decimal or 0x hex), got ${JSON.stringify(raw)}`);
  return { numRuns, seed };
}

// By default fast-check draws at most 2 × minLength + 10 characters or items, whatever maxLength
// says. The bounds these tests give are chosen to reach the limits under test, so every length
// up to maxLength is drawn (size: 'max').

export function stringOf(alphabet: readonly string[], minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength, size: 'max' });
}

export function arrayOf<T>(item: fc.Arbitrary<T>, minLength: number, maxLength: number): fc.Arbitrary<T[]> {
  return fc.array(item, { minLength, maxLength, size: 'max' });
}

/** `min`, `max` and any integer between, each a third of the time: bugs sit at the bounds. A failure shrinks towards `min`. */
export function boundsOrBetween(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof({ withCrossShrink: true }, fc.constant(min), fc.constant(max), fc.integer({ min, max }));
}

/** `arbitrary` with the given probability (in percent), `otherwise` the rest of the time. */
export function percentOf<T>(percent: number, arbitrary: fc.Arbitrary<T>, otherwise: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary, weight: percent }, { arbitrary: otherwise, weight: 100 - percent });
}

/** The parts drawn and joined into one string; a plain string is a part that never changes. */
export function joined(...parts: Array<string | fc.Arbitrary<string>>): fc.Arbitrary<string> {
  return fc.tuple(...parts.map((part) => (typeof part === 'string' ? fc.constant(part) : part))).map((drawn) => drawn.join(''));
}
