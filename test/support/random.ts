import { inspect } from 'node:util';

/** A small seeded generator (mulberry32, so only the low 32 bits of a seed count): the same seed gives the same cases on every machine. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let mixed = this.state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Calls one of the generators, so each kind of value is drawn as often as the others. */
  oneOf<T>(generators: ReadonlyArray<() => T>): T {
    return this.pick(generators)();
  }

  string(alphabet: readonly string[], length: number): string {
    return Array.from({ length }, () => this.pick(alphabet)).join('');
  }

  array<T>(length: number, item: (index: number) => T): T[] {
    return Array.from({ length }, (_, index) => item(index));
  }

  /** `count` distinct items of `items`, in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    return this.array(Math.min(count, pool.length), () => pool.splice(this.int(0, pool.length - 1), 1)[0]);
  }
}

/** BERTH_PROPERTY_SEED replays a failure (or explores other cases); without it every run uses `defaultSeed`. */
export function propertySeed(defaultSeed: number): number {
  const raw = process.env.BERTH_PROPERTY_SEED;
  if (raw === undefined || raw === '') return defaultSeed;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`BERTH_PROPERTY_SEED must be a whole number (decimal or 0x hex), got ${JSON.stringify(raw)}`);
  return seed;
}

/**
 * Runs `property` on `cases` inputs drawn from one generator. A failure names the seed, the case
 * and the input, since a random input nobody can see or replay is no help.
 */
export async function forAllCases<T>(
  options: { seed: number; cases: number },
  generate: (random: Random, index: number) => T,
  property: (input: T, index: number) => void | Promise<void>,
): Promise<void> {
  const random = new Random(options.seed);
  for (let index = 0; index < options.cases; index++) {
    const input = generate(random, index);
    try {
      await property(input, index);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `case ${index} of seed ${options.seed} failed (replay: BERTH_PROPERTY_SEED=${options.seed}): ${message}\ninput: ${describe(input)}`,
        { cause: error },
      );
    }
  }
}

function describe(value: unknown): string {
  return inspect(value, { depth: 5, maxStringLength: 400, maxArrayLength: 20, breakLength: Infinity });
}
