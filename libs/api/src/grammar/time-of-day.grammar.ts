/**
 * A time of day "hh:mm:ss" as Go's `time.Parse("15:04:05", s)` reads it
 * (https://pkg.go.dev/time#pkg-constants): the hour has one or two digits, minutes and seconds
 * two. The one grammar for the time filter's `start`/`stop`: validation (`checkTimeOfDay`) and
 * the runtime (`evaluateTimeFilter`) both call {@link parseTimeOfDay}.
 */

export class TimeOfDaySyntaxError extends Error {
  override name = 'TimeOfDaySyntaxError';
}

/** Seconds since midnight; throws {@link TimeOfDaySyntaxError}. */
export function parseTimeOfDay(s: string): number {
  const m = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3]) > 59)
    throw new TimeOfDaySyntaxError(`"${s}" is not a time of day "hh:mm:ss"`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}
