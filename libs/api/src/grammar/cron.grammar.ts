/**
 * Cron schedules as robfig/cron v3's `ParseStandard` reads them
 * (https://pkg.go.dev/github.com/robfig/cron/v3#ParseStandard): five fields
 * `minute hour day-of-month month day-of-week`, with `*`, `?`, lists `a,b`, ranges `a-b`,
 * steps `x/n` (`N/n` means N through the maximum), month names JAN–DEC and weekday names
 * SUN–SAT (case-insensitive); the descriptors @yearly @annually @monthly @weekly @daily
 * @midnight @hourly (exact case, as robfig) and `@every <Go duration>`; and a leading
 * `CRON_TZ=<zone>` (or `TZ=<zone>`) that overrides the configured time zone.
 *
 * `@every d` is a fixed interval: robfig's `Every` rounds `d` down to whole seconds, and up to
 * one second at least; a zero or negative `d` (which robfig silently turns into one second) is
 * rejected here. Where its ticks fall is the runtime's business (libs/core `nextFire`).
 *
 * The one cron grammar: validation (`checkCron`, calendar `schedule`, `conditionsReset` cron)
 * and the runtime (calendar source, the sensor's join resets) both call {@link parseCron}.
 */
import { DurationSyntaxError, parseGoDuration } from './go-duration.grammar.js';
import { parseTimezone, TimezoneError } from './timezone.grammar.js';

export class CronSyntaxError extends Error {
  override name = 'CronSyntaxError';
}

interface CronBase {
  readonly source: string;
  /** A `CRON_TZ=`/`TZ=` prefix in the spec (robfig), which overrides the configured timezone. */
  readonly timezone?: string;
}

/** A 5-field schedule (descriptors other than `@every` are written as one). */
export interface CronFields extends CronBase {
  readonly kind: 'fields';
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly dom: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly dow: ReadonlySet<number>;
  /** Day-of-month or day-of-week started with `*` or `?` (robfig's star bit). */
  readonly domStar: boolean;
  readonly dowStar: boolean;
}

/** `@every <duration>`: a fixed interval in whole seconds (robfig's `ConstantDelaySchedule`). */
interface CronEvery extends CronBase {
  readonly kind: 'every';
  readonly intervalMs: number;
}

export type CronSchedule = CronFields | CronEvery;

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS: Field[] = [
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
const EVERY = '@every ';

function parseValue(s: string, field: string, f: Field): number {
  const named = f.names?.indexOf(s.toUpperCase()) ?? -1;
  const v = /^\d+$/.test(s) ? Number(s) : named >= 0 ? named + f.min : NaN;
  if (Number.isNaN(v))
    throw new CronSyntaxError(`${f.name} field "${field}": "${s}" is not a valid value`);
  if (v < f.min || v > f.max)
    throw new CronSyntaxError(`${f.name} field "${field}": ${v} is out of range ${f.min}-${f.max}`);
  return v;
}

function parseField(field: string, f: Field): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  for (const part of field.split(',')) {
    const [range, step, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '')
      throw new CronSyntaxError(`${f.name} field "${field}" is malformed`);
    let lo: number;
    let hi: number;
    let partStar = false;
    if (range === '*' || range === '?') {
      [lo, hi, partStar] = [f.min, f.max, true];
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2) throw new CronSyntaxError(`${f.name} field "${field}" is malformed`);
      lo = parseValue(bounds[0]!, field, f);
      hi = bounds.length === 2 ? parseValue(bounds[1]!, field, f) : lo;
      if (lo > hi)
        throw new CronSyntaxError(`${f.name} field "${field}": range start is after its end`);
    }
    let by = 1;
    if (step !== undefined) {
      if (!/^\d+$/.test(step))
        throw new CronSyntaxError(`${f.name} field "${field}": step "${step}" is not a number`);
      by = Number(step);
      if (by === 0)
        throw new CronSyntaxError(`${f.name} field "${field}": step must be at least 1`);
      // robfig: "N/step" means N through max.
      if (!partStar && !range.includes('-')) hi = f.max;
      if (by > 1) partStar = false;
    }
    for (let v = lo; v <= hi; v += by) set.add(v);
    star ||= partStar;
  }
  return { set, star };
}

function parseEvery(duration: string): number {
  let ns: number;
  try {
    ns = parseGoDuration(duration);
  } catch (e) {
    if (e instanceof DurationSyntaxError) throw new CronSyntaxError(`@every: ${e.message}`);
    throw e;
  }
  if (ns <= 0) throw new CronSyntaxError(`@every: "${duration}" is not a positive duration`);
  return Math.max(1000, Math.floor(ns / 1e9) * 1000);
}

/** Parses a robfig standard spec; throws {@link CronSyntaxError} (also for a bad `CRON_TZ=`). */
export function parseCron(source: string): CronSchedule {
  if (typeof source !== 'string') throw new CronSyntaxError('a cron schedule must be a string');
  let spec = source.trim();
  let timezone: string | undefined;
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(spec);
  if (tz) {
    timezone = tz[1]!;
    try {
      parseTimezone(timezone);
    } catch (e) {
      if (e instanceof TimezoneError) throw new CronSyntaxError(e.message);
      throw e;
    }
    spec = spec.slice(tz[0].length).trim();
  }
  const zone = timezone !== undefined ? { timezone } : {};
  if (spec.startsWith(EVERY))
    return { kind: 'every', source, intervalMs: parseEvery(spec.slice(EVERY.length)), ...zone };
  if (spec.startsWith('@')) {
    const d = DESCRIPTORS[spec];
    if (d === undefined)
      throw new CronSyntaxError(
        `unknown cron descriptor "${spec}" (use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>)`,
      );
    spec = d;
  }
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5)
    throw new CronSyntaxError(
      `"${source}" has ${fields.length} fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)`,
    );
  const [minutes, hours, dom, months, dow] = fields.map((f, i) => parseField(f, FIELDS[i]!));
  return {
    kind: 'fields',
    source,
    minutes: minutes!.set,
    hours: hours!.set,
    dom: dom!.set,
    months: months!.set,
    dow: dow!.set,
    domStar: dom!.star,
    dowStar: dow!.star,
    ...zone,
  };
}
