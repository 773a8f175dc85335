/**
 * The `context` and `time` filters, as Argo's `filterContext` and `filterTime`
 * (`pkg/sensors/dependencies/filter.go`).
 */
import { parseTimeOfDay, parseTimezone } from '@ganglion/api';
import type { EventContext } from '../event.js';
import type { ContextFilter, FilterOutcome, TimeFilter } from './filter.types.js';

const CONTEXT_FIELDS = ['type', 'subject', 'source', 'datacontenttype'] as const;

/** Exact match on each non-empty field of the expected context. */
export function evaluateContextFilter(
  expected: ContextFilter | undefined,
  actual: EventContext | undefined,
): FilterOutcome {
  if (!expected) return { passed: true, reason: 'no context filter' };
  if (!actual) return { passed: false, reason: 'context: event has no context' };
  for (const f of CONTEXT_FIELDS) {
    const want = expected[f];
    if (want && want !== actual[f])
      return {
        passed: false,
        reason: `context: ${f} is ${JSON.stringify(actual[f] ?? '')}, want ${JSON.stringify(want)}`,
      };
  }
  return { passed: true, reason: 'context matched' };
}

/** Seconds of the day of a time of day "hh:mm:ss", through libs/api's one grammar (the validator's). */
function parseClock(s: string): number | undefined {
  try {
    return parseTimeOfDay(s);
  } catch {
    return undefined;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Seconds since midnight of `t` in the IANA timezone `tz`; throws TimezoneError on an unknown zone. */
function secondsOfDay(t: Date, tz: string): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: parseTimezone(tz),
      hourCycle: 'h23',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  const parts = f.formatToParts(t);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return (get('hour') % 24) * 3600 + get('minute') * 60 + get('second');
}

/**
 * `time{start, stop, timezone}`: the event time (the CloudEvent `time`, or `now` when the event
 * has none) in the timezone (UTC default) must be in [start, stop); when stop ≤ start the window
 * wraps midnight: t ≥ start or t < stop.
 */
export function evaluateTimeFilter(filter: TimeFilter | undefined, eventTime: Date): FilterOutcome {
  if (!filter) return { passed: true, reason: 'no time filter' };
  const start = parseClock(filter.start);
  const stop = parseClock(filter.stop);
  if (start === undefined)
    return { error: `time: invalid start "${filter.start}" (want hh:mm:ss)` };
  if (stop === undefined) return { error: `time: invalid stop "${filter.stop}" (want hh:mm:ss)` };
  const tz = filter.timezone || 'UTC';
  if (Number.isNaN(eventTime.getTime())) return { error: 'time: event time is invalid' };
  let t: number;
  try {
    t = secondsOfDay(eventTime, tz);
  } catch {
    return { error: `time: unknown timezone "${tz}"` };
  }
  const pass = stop > start ? t >= start && t < stop : t >= start || t < stop;
  const clock = `${String(Math.floor(t / 3600)).padStart(2, '0')}:${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
  return pass
    ? { passed: true, reason: `time: ${clock} ${tz} is within [${filter.start}, ${filter.stop})` }
    : {
        passed: false,
        reason: `time: ${clock} ${tz} is outside [${filter.start}, ${filter.stop})`,
      };
}
