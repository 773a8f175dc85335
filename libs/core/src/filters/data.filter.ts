/**
 * The `data` filter, as Argo's `filterData` (`pkg/sensors/dependencies/filter.go`):
 * - no filters (absent or `[]`, in either mode) or empty event data → pass;
 * - each filter reads a gjson path; a missing path or an empty `value` list is an error
 *   (collected and skipped in `or` mode);
 * - `template` renders with `.Input` = the value's gjson string, and the result (a string)
 *   replaces the value; an empty or `<no value>` result is an error;
 * - `bool`: values parsed like Go's `strconv.ParseBool`, compared with `==`;
 * - `number`: float compare with the comparator (default `=`);
 * - `string`: each value is an RE2 regex matched (unanchored) against the value's string;
 *   `=` (default) means match, `!=` means no match, other comparators never match;
 * - values of one filter are OR-ed; filters combine per `dataLogicalOperator`.
 */
import { getPath } from '../paths.js';
import { compileRegex, renderInputTemplate } from '../template/index.js';
import type { DataFilter, FilterOutcome, LogicalOperator } from './filter.types.js';

/** gjson `Result.String()`. */
function gjsonString(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** gjson `Result.Float()`: numbers, numeric strings, true → 1, else 0. */
function gjsonFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const f = Number(v);
    return v.trim() !== '' && Number.isFinite(f) ? f : 0;
  }
  return 0;
}

/** gjson `Result.Bool()`: true, numbers ≠ 0, strings parsed with ParseBool. */
function gjsonBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return parseGoBool(v) ?? false;
  return false;
}

/** Go `strconv.ParseBool`. */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** Go `strconv.ParseFloat` for the forms manifests use. */
function parseGoFloat(s: string): number | undefined {
  const t = s.replace(/_/g, '');
  if (
    !/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|[iI]nf(inity)?|NaN)$/.test(
      t,
    )
  )
    return undefined;
  if (/inf/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  return Number(t);
}

function compareNumber(cmp: string, ev: number, fv: number): boolean {
  switch (cmp) {
    case '>=':
      return ev >= fv;
    case '>':
      return ev > fv;
    case '<':
      return ev < fv;
    case '<=':
      return ev <= fv;
    case '!=':
      return ev !== fv;
    case '=':
    case '':
    case undefined:
      return ev === fv;
    default:
      return false;
  }
}

export interface DataFilterOptions {
  now?: () => Date;
}

/** Evaluates `data[]` with `dataLogicalOperator` (`and` default). */
export function evaluateDataFilters(
  filters: readonly DataFilter[] | undefined,
  data: unknown,
  operator: LogicalOperator | undefined,
  opts: DataFilterOptions = {},
): FilterOutcome {
  if (!filters || filters.length === 0) return { passed: true, reason: 'no data filters' };
  if (data === undefined || data === null || data === '')
    return { passed: true, reason: 'event has no data' };
  let json: unknown = data;
  if (typeof data === 'string') {
    try {
      json = JSON.parse(data);
    } catch {
      return { error: 'event data is not valid JSON' };
    }
  }
  const or = operator === 'or';
  const errors: string[] = [];
  const fails: string[] = [];
  next: for (const [i, f] of filters.entries()) {
    const where = `data[${i}] (path "${f.path}")`;
    const fail = (msg: string): FilterOutcome | undefined => {
      if (or) {
        errors.push(`${where}: ${msg}`);
        return undefined;
      }
      return { error: `${where}: ${msg}` };
    };
    let value = getPath(json, f.path);
    if (value === undefined) {
      const r = fail(`path '${f.path}' does not exist`);
      if (r) return r;
      continue;
    }
    if (!f.value || f.value.length === 0) {
      const r = fail('no values specified');
      if (r) return r;
      continue;
    }
    if (f.template) {
      let out: string;
      try {
        out = renderInputTemplate(
          f.template,
          gjsonString(value),
          opts.now ? { now: opts.now } : {},
        );
      } catch (e) {
        const r = fail(`template: ${e instanceof Error ? e.message : String(e)}`);
        if (r) return r;
        continue;
      }
      if (out === '' || out === '<no value>') {
        const r = fail(`template evaluated to empty string or no value: '${f.template}'`);
        if (r) return r;
        continue;
      }
      value = out;
    }
    const cmp = f.comparator ?? '';
    switch (f.type) {
      case 'bool': {
        for (const v of f.value) {
          const want = parseGoBool(v);
          if (want === undefined) return { error: `${where}: invalid bool value '${v}'` };
          if (want === gjsonBool(value)) {
            if (or) return { passed: true, reason: `${where} matched ${v}` };
            continue next;
          }
        }
        break;
      }
      case 'number': {
        const ev = gjsonFloat(value);
        for (const v of f.value) {
          const fv = parseGoFloat(v);
          if (fv === undefined) return { error: `${where}: invalid number value '${v}'` };
          if (compareNumber(cmp, ev, fv)) {
            if (or) return { passed: true, reason: `${where} ${ev} ${cmp || '='} ${v}` };
            continue next;
          }
        }
        break;
      }
      case 'string': {
        const s = gjsonString(value);
        for (const v of f.value) {
          let matched: boolean;
          try {
            matched = compileRegex(v).matcher(s).find();
          } catch (e) {
            return { error: `${where}: ${e instanceof Error ? e.message : String(e)}` };
          }
          if (cmp === '' || cmp === '=' ? matched : cmp === '!=' ? !matched : false) {
            if (or) return { passed: true, reason: `${where} matched /${v}/` };
            continue next;
          }
        }
        break;
      }
      default:
        return { error: `${where}: unsupported JSON type ${f.type}` };
    }
    const msg = `${where}: value ${truncate(gjsonString(value))} does not satisfy ${cmp || '='} any of ${JSON.stringify(f.value)} (${f.type})`;
    if (!or) return { passed: false, reason: msg };
    fails.push(msg);
  }
  if (or) {
    if (errors.length) return { error: [...errors, ...fails].join('; ') };
    return { passed: false, reason: fails.join('; ') || 'no data filter matched' };
  }
  return { passed: true, reason: 'all data filters matched' };
}

function truncate(s: string): string {
  return JSON.stringify(s.length > 80 ? s.slice(0, 77) + '...' : s);
}
