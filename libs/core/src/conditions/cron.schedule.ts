/**
 * Fire times of a cron schedule parsed by libs/api's one cron grammar (`parseCron`).
 *
 * Times are computed in an IANA timezone via `Intl.DateTimeFormat`; local times skipped by a
 * DST gap never fire. Day matching follows robfig/cron: when both day-of-month and day-of-week
 * are restricted, either may match; when one of them starts with `*`/`?`, both must.
 *
 * `@every d` fires at the multiples of `d` since the Unix epoch: a fixed interval, as robfig's
 * `ConstantDelaySchedule`, but anchored so that every replica (and `previousFire`, which the
 * join's `conditionsReset` needs) computes the same ticks; the calendar's `interval` does the same.
 */
import { parseTimezone, type CronFields, type CronSchedule } from '@ganglion/api';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  const zone = parseTimezone(tz);
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Wall-clock time in `tz` at `instant`, encoded as a UTC epoch (ms, seconds truncated to 0 ms). */
export function wallClock(instant: number, tz: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(instant)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
}

/** The instant at which the wall clock in `tz` shows `wall`, or undefined in a DST gap. */
function wallToInstant(wall: number, tz: string): number | undefined {
  const guess = wall - (wallClock(wall, tz) - wall);
  for (const cand of [guess, wall - (wallClock(guess, tz) - guess)]) {
    if (wallClock(cand, tz) === wall) return cand;
  }
  return undefined;
}

function dayMatches(s: CronFields, d: Date): boolean {
  const domMatch = s.dom.has(d.getUTCDate());
  const dowMatch = s.dow.has(d.getUTCDay());
  return s.domStar || s.dowStar ? domMatch && dowMatch : domMatch || dowMatch;
}

const MINUTE = 60_000;
const SEARCH_LIMIT = 100_000;

/** The first fire time strictly after `now` (epoch ms), or undefined if none within ~5 years. */
export function nextFire(schedule: CronSchedule, tz: string, now: number): number | undefined {
  if (schedule.kind === 'every')
    return (Math.floor(now / schedule.intervalMs) + 1) * schedule.intervalMs;
  let wall = Math.floor(wallClock(now, tz) / MINUTE) * MINUTE + MINUTE;
  const end = wall + 5 * 366 * 24 * 60 * MINUTE;
  for (let i = 0; i < SEARCH_LIMIT && wall <= end; i++) {
    const d = new Date(wall);
    if (!schedule.months.has(d.getUTCMonth() + 1)) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    } else if (!dayMatches(schedule, d)) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    } else if (!schedule.hours.has(d.getUTCHours())) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
    } else if (!schedule.minutes.has(d.getUTCMinutes())) {
      wall += MINUTE;
    } else {
      const at = wallToInstant(wall, tz);
      if (at !== undefined && at > now) return at;
      wall += MINUTE;
    }
  }
  return undefined;
}

/** The last fire time at or before `now` (epoch ms), or undefined if none within ~5 years. */
export function previousFire(schedule: CronSchedule, tz: string, now: number): number | undefined {
  if (schedule.kind === 'every') return Math.floor(now / schedule.intervalMs) * schedule.intervalMs;
  let wall = Math.floor(wallClock(now, tz) / MINUTE) * MINUTE;
  const end = wall - 5 * 366 * 24 * 60 * MINUTE;
  for (let i = 0; i < SEARCH_LIMIT && wall >= end; i++) {
    const d = new Date(wall);
    if (!schedule.months.has(d.getUTCMonth() + 1)) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - MINUTE;
    } else if (!dayMatches(schedule, d)) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - MINUTE;
    } else if (!schedule.hours.has(d.getUTCHours())) {
      wall =
        Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()) - MINUTE;
    } else if (!schedule.minutes.has(d.getUTCMinutes())) {
      wall -= MINUTE;
    } else {
      const at = wallToInstant(wall, tz);
      if (at !== undefined && at <= now) return at;
      wall -= MINUTE;
    }
  }
  return undefined;
}
