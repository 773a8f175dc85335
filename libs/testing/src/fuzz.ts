/**
 * A seeded pseudo-random generator for the fuzz suites (mulberry32): the same seed gives the
 * same inputs, so a failure is reproduced by running again with the seed it printed
 * (`GANGLION_FUZZ_SEED`).
 */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** A string of `n` characters drawn from `alphabet` (default: printable ASCII and a few others). */
  string(n: number, alphabet = FUZZ_ALPHABET): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }

  /** A random JSON-compatible value, at most `depth` levels deep. */
  json(depth = 3): unknown {
    const k = this.int(depth <= 0 ? 5 : 7);
    switch (k) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, this.int(1000)]);
      case 3:
      case 4:
        return this.string(this.int(12));
      case 5:
        return Array.from({ length: this.int(4) }, () => this.json(depth - 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(4); i > 0; i--)
          o[this.pick(['a', 'b', 'body', 'type', '__proto__', 'constructor', this.string(4)])] =
            this.json(depth - 1);
        return o;
      }
    }
  }

  /** Mutates a string: truncation, a flipped, inserted or deleted character, or a spliced piece. */
  mutate(s: string): string {
    if (s.length === 0) return this.string(this.int(8));
    const at = this.int(s.length);
    switch (this.int(5)) {
      case 0:
        return s.slice(0, at);
      case 1:
        return s.slice(0, at) + this.string(1) + s.slice(at + 1);
      case 2:
        return s.slice(0, at) + this.string(1 + this.int(3)) + s.slice(at);
      case 3:
        return s.slice(0, at) + s.slice(at + 1 + this.int(3));
      default:
        return s.slice(0, at) + s.slice(this.int(s.length));
    }
  }
}

const FUZZ_ALPHABET =
  'abcxyzABC0129 _-.,:;!?"\'`\\/{}[]()<>|&^%$#@~*+=\n\t\u00e9\u4e2d\u{1f600}\u0000';

/** The seed of a fuzz run: `GANGLION_FUZZ_SEED`, else a fresh one (printed by the suite). */
export function fuzzSeed(): number {
  const fixed = process.env['GANGLION_FUZZ_SEED'];
  return fixed ? Number(fixed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}
