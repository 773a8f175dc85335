/**
 * Go `time.ParseDuration` (https://pkg.go.dev/time#ParseDuration): a possibly signed sequence
 * of decimal numbers with optional fraction and a unit suffix, e.g. "300ms", "-1.5h", "2h45m".
 * Units: ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h. "0" alone is allowed.
 * Returns nanoseconds as a number (exact up to 2^53 ns ≈ 104 days; Go caps at ~292 years).
 *
 * The one Go-duration grammar: validation (`checkDuration`) and the runtime (backoff, calendar
 * `interval` and catch-up, cron `@every`) both call {@link parseGoDuration}.
 */

export class DurationSyntaxError extends Error {
  override name = 'DurationSyntaxError';
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parses a Go duration string into nanoseconds; throws {@link DurationSyntaxError}. */
export function parseGoDuration(input: string): number {
  const bad = (): never => {
    throw new DurationSyntaxError(`"${input}" is not a duration (e.g. "30s", "5m", "1h30m")`);
  };
  if (typeof input !== 'string') bad();
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') bad();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = m?.[1] ?? '';
    const frac = m?.[2];
    if (whole === '' && (frac === undefined || frac === '')) bad();
    s = s.slice(m![0].length);
    const u = /^[^\d.]+/.exec(s)?.[0];
    if (u === undefined) bad();
    const unit = UNIT_NS[u!];
    if (unit === undefined) bad();
    s = s.slice(u!.length);
    const value = Number(`${whole === '' ? '0' : whole}.${frac ?? ''}0`);
    total += value * unit!;
  }
  if (!Number.isFinite(total) || total > 9.223372036854776e18)
    throw new DurationSyntaxError(
      `"${input}" is out of range for a duration (at most about 292 years)`,
    );
  return sign * Math.round(total);
}

/**
 * Argo's `Int64OrString` durations (`retryStrategy.duration`): plain digits are nanoseconds,
 * anything else a Go duration. Throws {@link DurationSyntaxError}.
 */
export function parseNanosOrGoDuration(input: string): number {
  const trimmed = input.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : parseGoDuration(trimmed);
}
