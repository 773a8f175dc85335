/**
 * Small syntax checks used by validation: 5-field cron (robfig/cron `ParseStandard`), Go
 * durations (`time.ParseDuration`), IANA time zones (through Intl), "hh:mm:ss" times and the
 * trigger `conditions` language. Each returns an error message, or undefined when valid.
 */

const CRON_DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const CRON_FIELDS: { name: string; min: number; max: number; names?: string[]; question?: boolean }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, question: true },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 0, max: 6, names: DAYS, question: true },
];

/** Checks a robfig/cron standard spec: 5 fields, descriptors, `@every <duration>`, `CRON_TZ=` prefix. */
export function checkCron(spec: string): string | undefined {
  let s = spec.trim();
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(s);
  if (tz) {
    const bad = checkTimezone(tz[1]!);
    if (bad) return bad;
    s = tz[2]!.trim();
  }
  if (s.startsWith('@')) {
    if (CRON_DESCRIPTORS.has(s)) return undefined;
    const every = /^@every\s+(\S+)$/.exec(s);
    if (every) return checkDuration(every[1]!);
    return `unknown cron descriptor "${s}" (use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>)`;
  }
  const fields = s.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `"${spec}" has ${fields.length} fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)`;
  for (let i = 0; i < 5; i++) {
    const bad = checkCronField(fields[i]!, CRON_FIELDS[i]!);
    if (bad) return bad;
  }
  return undefined;
}

function checkCronField(field: string, f: (typeof CRON_FIELDS)[number]): string | undefined {
  for (const part of field.split(',')) {
    const [range, step, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') return `${f.name} field "${field}" is malformed`;
    if (step !== undefined && !/^\d+$/.test(step)) return `${f.name} field "${field}": step "${step}" is not a number`;
    if (range === '*' || (range === '?' && f.question)) continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `${f.name} field "${field}" is malformed`;
    const values: number[] = [];
    for (const b of bounds) {
      const v = /^\d+$/.test(b) ? Number(b) : f.names ? f.names.indexOf(b.toUpperCase()) + (f.name === 'month' ? 1 : 0) : NaN;
      if (Number.isNaN(v) || (f.names && !/^\d+$/.test(b) && f.names.indexOf(b.toUpperCase()) < 0))
        return `${f.name} field "${field}": "${b}" is not a valid value`;
      if (v < f.min || v > f.max) return `${f.name} field "${field}": ${v} is out of range ${f.min}-${f.max}`;
      values.push(v);
    }
    if (values.length === 2 && values[0]! > values[1]!) return `${f.name} field "${field}": range start is after its end`;
  }
  return undefined;
}

const GO_DURATION = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** Checks a Go duration such as "10s", "1h30m" or "0". */
export function checkDuration(s: string): string | undefined {
  return s === '0' || GO_DURATION.test(s) ? undefined : `"${s}" is not a duration (e.g. "30s", "5m", "1h30m")`;
}

/** Checks an IANA time zone name. */
export function checkTimezone(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `"${tz}" is not a known IANA time zone (e.g. "UTC", "Europe/Paris", "America/New_York")`;
  }
}

/** Checks "hh:mm:ss" as parsed by Go's `time.Parse("15:04:05", ...)`. */
export function checkTimeOfDay(s: string): string | undefined {
  const m = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3]) > 59) return `"${s}" is not a time of day "hh:mm:ss"`;
  return undefined;
}

/** Checks an RFC 3339 date-time (Go `time.RFC3339`), e.g. "2026-12-25T00:00:00Z". */
export function checkDateTime(s: string): string | undefined {
  const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));
  return ok ? undefined : `"${s}" is not an RFC 3339 date-time (e.g. "2026-12-25T00:00:00Z")`;
}

/**
 * Parses a trigger `conditions` expression: dependency names joined by `&&` and `||` with
 * parentheses; names may contain `-`, `_` and `.`. Returns the names used, or an error message.
 */
export function parseConditionNames(expr: string): { names: string[] } | { error: string } {
  const tokens: { t: string; at: number }[] = [];
  const re = /\s*(?:(&&|\|\|)|([()])|([A-Za-z0-9_][A-Za-z0-9_.-]*))/y;
  let pos = 0;
  while (pos < expr.length) {
    if (/^\s*$/.test(expr.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) {
      const at = pos + (/^\s*/.exec(expr.slice(pos))?.[0].length ?? 0);
      return { error: `unexpected "${expr[at]}" at position ${at + 1}; use dependency names, &&, || and parentheses` };
    }
    tokens.push({ t: m[1] ?? m[2] ?? m[3]!, at: m.index + m[0].length - (m[1] ?? m[2] ?? m[3]!).length });
    pos = re.lastIndex;
  }
  const names: string[] = [];
  let i = 0;
  const isName = (t: string) => !['&&', '||', '(', ')'].includes(t);
  const fail = (what: string): { error: string } => {
    const tok = tokens[i];
    return { error: tok ? `expected ${what} at position ${tok.at + 1}, got "${tok.t}"` : `expected ${what} at the end` };
  };
  function primary(): { error: string } | undefined {
    const tok = tokens[i];
    if (tok?.t === '(') {
      i++;
      const e = or();
      if (e) return e;
      if (tokens[i]?.t !== ')') return fail('")"');
      i++;
      return undefined;
    }
    if (tok && isName(tok.t)) {
      names.push(tok.t);
      i++;
      return undefined;
    }
    return fail('a dependency name or "("');
  }
  function and(): { error: string } | undefined {
    let e = primary();
    while (!e && tokens[i]?.t === '&&') {
      i++;
      e = primary();
    }
    return e;
  }
  function or(): { error: string } | undefined {
    let e = and();
    while (!e && tokens[i]?.t === '||') {
      i++;
      e = and();
    }
    return e;
  }
  if (tokens.length === 0) return { error: 'is empty' };
  const e = or();
  if (e) return e;
  if (i < tokens.length) return fail('&& or ||');
  return { names };
}
