/**
 * Cron schedules for `conditionsReset[].byTime{cron, timezone}`, mirroring robfig/cron v3's
 * standard parser (https://pkg.go.dev/github.com/robfig/cron/v3): five fields
 * `minute hour day-of-month month day-of-week`, with `*`, `?`, lists `a,b`, ranges `a-b`,
 * steps `x/n`, month names JAN–DEC and weekday names SUN–SAT (case-insensitive), and the
 * descriptors @yearly @annually @monthly @weekly @daily @midnight @hourly, and a leading
 * `CRON_TZ=<zone>` (or `TZ=<zone>`) that overrides the timezone. `@every` is not supported
 * (robfig accepts it, but it has no "previous fire" time to reset from).
 * Day matching follows cron: when both day-of-month and day-of-week are restricted, either may
 * match; when one of them starts with `*`/`?`, both must.
 *
 * Times are computed in an IANA timezone via `Intl.DateTimeFormat`; local times skipped by a
 * DST gap never fire.
 */

export class CronSyntaxError extends Error {
  override name = 'CronSyntaxError';
}

export interface CronSchedule {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly dom: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly dow: ReadonlySet<number>;
  /** Day-of-month or day-of-week started with `*` or `?` (robfig's star bit). */
  readonly domStar: boolean;
  readonly dowStar: boolean;
  /** A `CRON_TZ=`/`TZ=` prefix in the spec (robfig), which overrides the configured timezone. */
  readonly timezone?: string;
}

interface Bounds {
  name: string;
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: Bounds[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 0, max: 6, names: DAYS },
];
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function parseValue(s: string, b: Bounds, src: string): number {
  const named = b.names?.[s.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d{1,4}$/.test(s)) throw new CronSyntaxError(`cron ${JSON.stringify(src)}: ${b.name} value ${JSON.stringify(s)} is not a number`);
  const n = Number(s);
  if (n < b.min || n > b.max) throw new CronSyntaxError(`cron ${JSON.stringify(src)}: ${b.name} value ${n} out of range [${b.min}, ${b.max}]`);
  return n;
}

function parseField(field: string, b: Bounds, src: string): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  for (const part of field.split(',')) {
    const [range, stepStr, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') throw new CronSyntaxError(`cron ${JSON.stringify(src)}: bad ${b.name} expression ${JSON.stringify(part)}`);
    let lo: number;
    let hi: number;
    let partStar = false;
    if (range === '*' || range === '?') {
      lo = b.min;
      hi = b.max;
      partStar = true;
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2) throw new CronSyntaxError(`cron ${JSON.stringify(src)}: bad ${b.name} range ${JSON.stringify(range)}`);
      lo = parseValue(bounds[0]!, b, src);
      hi = bounds.length === 2 ? parseValue(bounds[1]!, b, src) : lo;
    }
    let step = 1;
    if (stepStr !== undefined) {
      if (!/^\d{1,4}$/.test(stepStr) || Number(stepStr) === 0) throw new CronSyntaxError(`cron ${JSON.stringify(src)}: bad ${b.name} step ${JSON.stringify(stepStr)}`);
      step = Number(stepStr);
      // robfig: "N/step" means N through max.
      if (!partStar && !range.includes('-')) hi = b.max;
      if (step > 1) partStar = false;
    }
    if (lo > hi) throw new CronSyntaxError(`cron ${JSON.stringify(src)}: ${b.name} range ${lo}-${hi} is backwards`);
    for (let v = lo; v <= hi; v += step) set.add(v);
    star ||= partStar;
  }
  return { set, star };
}

/** Parses a 5-field cron expression or descriptor; throws {@link CronSyntaxError}. */
export function parseCron(source: string): CronSchedule {
  if (typeof source !== 'string') throw new CronSyntaxError('cron: expression must be a string');
  let spec = source.trim();
  let timezone: string | undefined;
  const tzPrefix = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(spec);
  if (tzPrefix) {
    timezone = tzPrefix[1]!;
    checkTimezone(timezone);
    spec = spec.slice(tzPrefix[0].length);
  }
  if (spec.startsWith('@')) {
    const d = DESCRIPTORS[spec.toLowerCase()];
    if (d === undefined) throw new CronSyntaxError(`cron ${JSON.stringify(source)}: unrecognized descriptor`);
    spec = d;
  }
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new CronSyntaxError(`cron ${JSON.stringify(source)}: expected exactly 5 fields, found ${fields.length}`);
  const parsed = fields.map((f, i) => parseField(f, FIELDS[i]!, source));
  return {
    source,
    minutes: parsed[0]!.set,
    hours: parsed[1]!.set,
    dom: parsed[2]!.set,
    months: parsed[3]!.set,
    dow: parsed[4]!.set,
    domStar: parsed[2]!.star,
    dowStar: parsed[4]!.star,
    ...(timezone !== undefined ? { timezone } : {}),
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Validates an IANA timezone name ("" means UTC); throws {@link CronSyntaxError}. */
export function checkTimezone(tz: string): void {
  formatter(tz);
}

function formatter(tz: string): Intl.DateTimeFormat {
  const zone = tz === '' ? 'UTC' : tz;
  let f = formatters.get(zone);
  if (!f) {
    try {
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
    } catch {
      throw new CronSyntaxError(`unknown time zone ${JSON.stringify(tz)}`);
    }
    formatters.set(zone, f);
  }
  return f;
}

/** Wall-clock time in `tz` at `instant`, encoded as a UTC epoch (ms, seconds truncated to 0 ms). */
export function wallClock(instant: number, tz: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(instant))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** The instant at which the wall clock in `tz` shows `wall`, or undefined in a DST gap. */
function wallToInstant(wall: number, tz: string): number | undefined {
  const guess = wall - (wallClock(wall, tz) - wall);
  for (const cand of [guess, wall - (wallClock(guess, tz) - guess)]) {
    if (wallClock(cand, tz) === wall) return cand;
  }
  return undefined;
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const domMatch = s.dom.has(d.getUTCDate());
  const dowMatch = s.dow.has(d.getUTCDay());
  return s.domStar || s.dowStar ? domMatch && dowMatch : domMatch || dowMatch;
}

const MINUTE = 60_000;
const SEARCH_LIMIT = 100_000;

/** The first fire time strictly after `now` (epoch ms), or undefined if none within ~5 years. */
export function nextFire(schedule: CronSchedule, tz: string, now: number): number | undefined {
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
  let wall = Math.floor(wallClock(now, tz) / MINUTE) * MINUTE;
  const end = wall - 5 * 366 * 24 * 60 * MINUTE;
  for (let i = 0; i < SEARCH_LIMIT && wall >= end; i++) {
    const d = new Date(wall);
    if (!schedule.months.has(d.getUTCMonth() + 1)) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - MINUTE;
    } else if (!dayMatches(schedule, d)) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - MINUTE;
    } else if (!schedule.hours.has(d.getUTCHours())) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()) - MINUTE;
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
