/**
 * Argo's retry `Backoff{duration, factor, jitter, steps}` (`pkg/apis/common/backoff.go`,
 * `pkg/shared/util/retry.go ConvertToBackoff`, and k8s `wait.Backoff.Step`), as pure functions.
 *
 * - `duration`: an integer is nanoseconds, a string is a Go duration ("1s"); default 1s.
 * - `factor`: multiplier applied after each step (0 or absent: constant delay).
 * - `jitter`: each delay `d` becomes `d + random() * jitter * d` when jitter > 0.
 * - `steps`: the number of attempts; there are `steps - 1` sleeps between them.
 *   Argo with no retryStrategy makes one attempt; `steps < 1` is treated as one attempt.
 *
 * Randomness is passed in (`random: () => number` in [0, 1)) to keep the core deterministic.
 */
import { parseNanosOrGoDuration } from '@ganglion/api';

/** The manifest shape (`retryStrategy`, `policy.k8s.backoff`, `connectionBackoff`). */
interface BackoffSpec {
  duration?: number | string;
  factor?: number | string;
  jitter?: number | string;
  steps?: number;
}

/** A backoff with every field resolved; delays in milliseconds. */
export interface Backoff {
  durationMs: number;
  factor: number;
  jitter: number;
  steps: number;
}

export class BackoffError extends Error {
  override name = 'BackoffError';
}

/** Argo's `DefaultBackoff`: steps 5, 1s, factor 1.0, jitter 1. */
export const DEFAULT_BACKOFF: Readonly<Backoff> = Object.freeze({
  durationMs: 1000,
  factor: 1,
  jitter: 1,
  steps: 5,
});

/** A trigger without `retryStrategy` is tried once. */
export const NO_RETRY_BACKOFF: Readonly<Backoff> = Object.freeze({
  durationMs: 1000,
  factor: 1,
  jitter: 0,
  steps: 1,
});

function amount(v: number | string | undefined, field: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'number' ? v : Number(v.trim());
  if (typeof v === 'string' && v.trim() === '')
    throw new BackoffError(`backoff.${field}: empty value`);
  if (!Number.isFinite(n) || n < 0)
    throw new BackoffError(`backoff.${field}: ${JSON.stringify(v)} is not a non-negative number`);
  return n;
}

/** Resolves a manifest backoff; `undefined` gives {@link DEFAULT_BACKOFF} as in `ConvertToBackoff(nil)`. */
export function parseBackoff(spec: BackoffSpec | undefined): Backoff {
  if (spec === undefined || spec === null) return { ...DEFAULT_BACKOFF };
  let durationMs = 1000;
  if (typeof spec.duration === 'number') {
    if (!Number.isFinite(spec.duration) || spec.duration < 0)
      throw new BackoffError(
        `backoff.duration: ${spec.duration} is not a non-negative number of nanoseconds`,
      );
    durationMs = spec.duration / 1e6;
  } else if (typeof spec.duration === 'string') {
    // Int64OrString accepts a quoted integer as nanoseconds too.
    const ns = parseNanosOrGoDuration(spec.duration);
    if (ns < 0)
      throw new BackoffError(`backoff.duration: ${JSON.stringify(spec.duration)} is negative`);
    durationMs = ns / 1e6;
  }
  const steps = spec.steps ?? 1;
  if (!Number.isInteger(steps)) throw new BackoffError(`backoff.steps: ${steps} is not an integer`);
  return {
    durationMs,
    factor: amount(spec.factor, 'factor', 0),
    jitter: amount(spec.jitter, 'jitter', 0),
    steps: Math.max(1, steps),
  };
}

/**
 * The delay before retry number `retry` (0-based: the sleep after the first failed attempt is
 * retry 0), or `undefined` when the attempts are exhausted.
 */
export function nextDelay(
  backoff: Backoff,
  retry: number,
  random: () => number,
): number | undefined {
  if (retry < 0 || retry >= backoff.steps - 1) return undefined;
  const base =
    backoff.factor !== 0
      ? backoff.durationMs * Math.pow(backoff.factor, retry)
      : backoff.durationMs;
  return backoff.jitter > 0 ? base + random() * backoff.jitter * base : base;
}

/** All `steps - 1` delays (ms) between attempts, in order. */
export function backoffDelays(backoff: Backoff, random: () => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < backoff.steps - 1; i++) out.push(nextDelay(backoff, i, random)!);
  return out;
}

/**
 * The delay before attempt number `attempt` (1-based) of a retry that starts at `initialMs` and
 * doubles up to `maxMs`: `min(maxMs, initialMs · 2^(attempt−1))`. Ganglion's own reconnect,
 * rebind and republish loops (Argo's {@link Backoff} has no cap). An attempt below 1 counts as
 * the first; the exponent stops at 30, so a long run of attempts never overflows.
 */
export function cappedDoubling(initialMs: number, maxMs: number, attempt: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
}
