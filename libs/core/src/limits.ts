/**
 * Bounds shared by the interpreters of libs/core (jq, templates, expr, govaluate): a wall-clock
 * deadline checked from their step counters, and a size budget on the values they produce, so
 * that an evaluation fails fast with a clear error instead of hanging or exhausting the heap
 * (docs/core.md, "Limits").
 */

/** Default wall-clock deadline of one evaluation, in milliseconds. */
export const DEFAULT_DEADLINE_MS = 2000;
/** Default size budget of one produced value (approximate bytes of its JSON). */
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;

/** Sizes of smaller values are not cached: measuring them again is cheaper than a WeakMap entry. */
const CACHE_ABOVE = 4096;
/** How often (in steps) the clock is read. */
const CLOCK_EVERY = 256;

/** A wall-clock deadline polled from a step counter: `tick()` is cheap, the clock is read every 256 calls. */
export class Deadline {
  private readonly at: number;
  private n = 0;
  constructor(readonly ms: number) {
    this.at = performance.now() + ms;
  }
  /** True once the deadline has passed (read every {@link CLOCK_EVERY} ticks). */
  tick(): boolean {
    if (++this.n < CLOCK_EVERY) return false;
    return this.passed();
  }
  /** True once the deadline has passed (reads the clock): after work charged in bulk. */
  passed(): boolean {
    this.n = 0;
    return performance.now() > this.at;
  }
}

/**
 * Approximate size in bytes of a value's JSON, stopping as soon as it exceeds `budget` (then
 * returns a number above it). Sizes of arrays and objects above 4 KiB are cached in `cache`, so
 * a value built from already-measured parts (`[., .]`) costs about as many steps as it has
 * direct children.
 */
function valueSize(v: unknown, budget: number, cache: WeakMap<object, number>): number {
  if (typeof v === 'string') return v.length + 2;
  if (v === null || typeof v !== 'object') return 8;
  const hit = cache.get(v);
  if (hit !== undefined) return hit;
  let size = 2;
  if (Array.isArray(v)) {
    for (const x of v) {
      size += valueSize(x, budget, cache) + 1;
      if (size > budget) return size;
    }
  } else if (v instanceof Uint8Array) {
    size += v.length;
  } else {
    for (const k of Object.keys(v)) {
      size += k.length + 4 + valueSize((v as Record<string, unknown>)[k], budget, cache);
      if (size > budget) return size;
    }
  }
  if (size > CACHE_ABOVE) cache.set(v, size);
  return size;
}

/**
 * Checks values against a size budget. The size cache is per evaluation unless one is given:
 * an interpreter whose values are never mutated once built (jq) can share one across
 * evaluations, which saves measuring the same input again.
 */
export class ValueBudget {
  constructor(
    readonly maxBytes: number,
    private cache?: WeakMap<object, number>,
  ) {}
  /** True when `v` is within budget. Primitives other than strings are always within it. */
  fits(v: unknown): boolean {
    if (typeof v === 'string') return v.length <= this.maxBytes;
    if (v === null || typeof v !== 'object') return true;
    return valueSize(v, this.maxBytes, (this.cache ??= new WeakMap())) <= this.maxBytes;
  }
}
