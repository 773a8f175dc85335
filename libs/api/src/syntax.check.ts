/**
 * Small syntax checks used by validation: 5-field cron (robfig/cron `ParseStandard`), Go
 * durations (`time.ParseDuration`), IANA time zones (through Intl), "hh:mm:ss" times, RE2
 * regular expressions (Go `regexp`) and the trigger `conditions` language. Each returns an error message, or undefined when valid.
 * They are thin wrappers over the grammars in ./grammar/, which the runtime calls too, so
 * admission and run time give the same verdict.
 */
import {
  ConditionSyntaxError,
  conditionDependencies,
  parseCondition,
} from './grammar/condition.grammar.js';
import { CronSyntaxError, parseCron } from './grammar/cron.grammar.js';
import { DurationSyntaxError, parseGoDuration } from './grammar/go-duration.grammar.js';
import { parseRegex, RegexSyntaxError } from './grammar/regex.grammar.js';
import { parseTimeOfDay, TimeOfDaySyntaxError } from './grammar/time-of-day.grammar.js';
import { parseTimezone, TimezoneError } from './grammar/timezone.grammar.js';

/** Checks a robfig/cron standard spec: 5 fields, descriptors, `@every <duration>`, `CRON_TZ=` prefix. */
export function checkCron(spec: string): string | undefined {
  return verdict(() => parseCron(spec));
}

/** Checks a Go duration such as "10s", "1h30m" or "0". */
export function checkDuration(s: string): string | undefined {
  return verdict(() => parseGoDuration(s));
}

/** Checks an IANA time zone name. */
export function checkTimezone(tz: string): string | undefined {
  return verdict(() => parseTimezone(tz));
}

/** Checks "hh:mm:ss" as parsed by Go's `time.Parse("15:04:05", ...)`. */
export function checkTimeOfDay(s: string): string | undefined {
  return verdict(() => parseTimeOfDay(s));
}

/** Checks an RE2 regular expression (Go `regexp.Compile`), e.g. "(?i)^push$". */
export function checkRegex(pattern: string): string | undefined {
  return verdict(() => parseRegex(pattern));
}

/** Checks an RFC 3339 date-time (Go `time.RFC3339`), e.g. "2026-12-25T00:00:00Z". */
export function checkDateTime(s: string): string | undefined {
  const ok =
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) &&
    !Number.isNaN(Date.parse(s));
  return ok ? undefined : `"${s}" is not an RFC 3339 date-time (e.g. "2026-12-25T00:00:00Z")`;
}

/**
 * Parses a trigger `conditions` expression: dependency names joined by `&&` and `||` with
 * parentheses; names may contain `-`, `_` and `.`. Returns the names used, or an error message.
 */
export function parseConditionNames(expr: string): { names: string[] } | { error: string } {
  try {
    return { names: conditionDependencies(parseCondition(expr)) };
  } catch (e) {
    if (e instanceof ConditionSyntaxError) return { error: e.message };
    throw e;
  }
}

/** The message of the grammar's syntax error, or undefined when `parse` succeeds. */
function verdict(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (e) {
    if (
      e instanceof CronSyntaxError ||
      e instanceof DurationSyntaxError ||
      e instanceof TimezoneError ||
      e instanceof TimeOfDaySyntaxError ||
      e instanceof RegexSyntaxError
    )
      return e.message;
    throw e;
  }
}
