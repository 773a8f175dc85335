import { parseCron, parseGoDuration, parseTimezone, type CalendarEventSource } from '@ganglion/api';
import { nextFire, wallClock } from '@ganglion/core';

/** A calendar event's schedule: the first tick strictly after a time (epoch ms). */
export interface CalendarSchedule {
  next(after: number): number | undefined;
  timezone: string;
}

/**
 * Compiles `schedule` (5-field cron, robfig syntax, minute resolution) or `interval` (a Go
 * duration; ticks aligned to multiples of the interval since the Unix epoch, so every replica
 * computes the same tick times), skipping ticks whose calendar day in `timezone` is one of
 * `exclusionDates` (Argo compares year and day of year).
 */
export function compileCalendar(cfg: CalendarEventSource): CalendarSchedule {
  const tz = parseTimezone(cfg.timezone ?? '');
  let base: (after: number) => number | undefined;
  if (cfg.schedule) {
    const cron = parseCron(cfg.schedule);
    const zone = cron.timezone ?? tz;
    base = (after) => nextFire(cron, zone, after);
  } else if (cfg.interval) {
    const ms = parseGoDuration(cfg.interval) / 1e6;
    if (!(ms >= 1))
      throw new Error(`interval ${JSON.stringify(cfg.interval)} must be at least 1ms`);
    base = (after) => (Math.floor(after / ms) + 1) * ms;
  } else throw new Error('calendar needs a schedule or an interval');
  const excluded = new Set<string>();
  for (const d of cfg.exclusionDates ?? []) {
    const m = /^(\d{4}-\d{2}-\d{2})/.exec(d);
    if (!m) throw new Error(`exclusionDates: ${JSON.stringify(d)} is not an RFC 3339 date-time`);
    excluded.add(m[1]!);
  }
  const day = (t: number): string => new Date(wallClock(t, tz)).toISOString().slice(0, 10);
  return {
    timezone: tz,
    next(after) {
      let t = base(after);
      for (
        let i = 0;
        t !== undefined && excluded.size > 0 && excluded.has(day(t)) && i < 100_000;
        i++
      )
        t = base(t);
      return t;
    },
  };
}

/** Go's `time.Time.String()` for a tick in a zone: `2006-01-02 15:04:05 -0700 MST`. */
export function goTimeString(t: number, tz: string): string {
  const ms = ((t % 1000) + 1000) % 1000;
  const wall = Math.floor(wallClock(t, tz) / 1000) * 1000 + ms;
  const iso = new Date(wall).toISOString();
  const offsetMin = Math.round((wall - t) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  let abbr =
    tz === 'UTC'
      ? 'UTC'
      : (new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'short' })
          .formatToParts(new Date(t))
          .find((p) => p.type === 'timeZoneName')?.value ?? tz);
  if (/^GMT[+-]/.test(abbr)) abbr = offset.slice(0, 3);
  const frac = ms ? `.${String(ms).padStart(3, '0').replace(/0+$/, '')}` : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} ${offset} ${abbr}`;
}
