/**
 * IANA time zone names (Go `time.LoadLocation`, https://pkg.go.dev/time#LoadLocation), checked
 * against the zone database that `Intl` carries. The empty name is UTC, as in Go.
 *
 * The one time-zone grammar: validation (`checkTimezone`) and the runtime (cron schedules,
 * `conditionsReset`, calendar, time filters) both call {@link parseTimezone}.
 */

export class TimezoneError extends Error {
  override name = 'TimezoneError';
}

const known = new Set<string>(['UTC']);

/** Returns the zone to compute in (`""` → `"UTC"`); throws {@link TimezoneError} for an unknown zone. */
export function parseTimezone(tz: string): string {
  const zone = tz === '' ? 'UTC' : tz;
  if (known.has(zone)) return zone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new TimezoneError(
      `"${tz}" is not a known IANA time zone (e.g. "UTC", "Europe/Paris", "America/New_York")`,
    );
  }
  known.add(zone);
  return zone;
}
