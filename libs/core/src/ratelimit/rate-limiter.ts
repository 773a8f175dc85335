/**
 * Trigger `rateLimit{unit: Second|Minute|Hour, requestsPerUnit}` as a pure limiter.
 *
 * Argo uses go.uber.org/ratelimit (`pkg/sensors/listener.go`): `Take()` blocks, never drops,
 * and spaces calls `unit / requestsPerUnit` apart, with up to 10 calls of "slack" banked while
 * idle (a burst allowance, i.e. a token bucket of capacity 10 refilling at the rate). This
 * mirrors its atomic limiter: `take` returns how long the caller must wait before acting.
 * State is plain JSON.
 */

type RateLimitUnit = 'Second' | 'Minute' | 'Hour';

export interface RateLimitSpec {
  unit?: RateLimitUnit;
  requestsPerUnit: number;
}

export interface RateLimiter {
  /** Milliseconds between requests at the steady rate. */
  perRequestMs: number;
  /** How many requests' worth of idle time can be banked (uber's default slack: 10). */
  slack: number;
}

/** Limiter state: the time the last request was (or will be) let through, and the banked debt. */
export interface RateLimitState {
  lastMs: number | null;
  sleepForMs: number;
}

export class RateLimitError extends Error {
  override name = 'RateLimitError';
}

const UNIT_MS: Record<RateLimitUnit, number> = { Second: 1000, Minute: 60_000, Hour: 3_600_000 };

/** Resolves a manifest rate limit (unit defaults to Second, as in Argo). */
export function createRateLimiter(spec: RateLimitSpec, slack = 10): RateLimiter {
  const unit = spec.unit ?? 'Second';
  const unitMs = UNIT_MS[unit];
  if (unitMs === undefined)
    throw new RateLimitError(
      `rateLimit.unit: ${JSON.stringify(unit)} must be one of Second, Minute, Hour`,
    );
  if (!Number.isFinite(spec.requestsPerUnit) || spec.requestsPerUnit <= 0) {
    throw new RateLimitError(
      `rateLimit.requestsPerUnit: ${spec.requestsPerUnit} must be a positive number`,
    );
  }
  return { perRequestMs: unitMs / spec.requestsPerUnit, slack };
}

export const initialRateLimitState = (): RateLimitState => ({ lastMs: null, sleepForMs: 0 });

/**
 * Takes one permit at `now` (epoch ms). Returns the new state and `waitMs`, the time to wait
 * before performing the request (0 when it may go at once).
 */
export function take(
  limiter: RateLimiter,
  state: RateLimitState,
  now: number,
): { state: RateLimitState; waitMs: number } {
  if (state.lastMs === null) return { state: { lastMs: now, sleepForMs: 0 }, waitMs: 0 };
  let sleepFor = state.sleepForMs + limiter.perRequestMs - (now - state.lastMs);
  const maxSlack = -limiter.slack * limiter.perRequestMs;
  if (sleepFor < maxSlack) sleepFor = maxSlack;
  if (sleepFor > 0) return { state: { lastMs: now + sleepFor, sleepForMs: 0 }, waitMs: sleepFor };
  return { state: { lastMs: now, sleepForMs: sleepFor }, waitMs: 0 };
}
