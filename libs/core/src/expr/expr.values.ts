/**
 * Go-flavoured value helpers for the expr interpreter: `fmt` `%v` formatting, `encoding/json`
 * marshalling (sorted keys, HTML-escaped), equality and truthiness as Go code sees them.
 */
import { ExprEvalError, ExprFunction, type ExprMap, type ExprValue } from './expr.ast.js';

export const isMap = (v: unknown): v is ExprMap =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof ExprFunction);
export const isNumeric = (v: unknown): v is number | bigint =>
  typeof v === 'number' || typeof v === 'bigint';

/** Go's `strconv.FormatFloat(f, 'g', -1, 64)` as used by `%v`. */
export function goFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, expStr] = f.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  return String(f);
}

/** `fmt.Sprint(v)`-like formatting. */
export function goString(v: ExprValue): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof ExprFunction) return `func ${v.name}`;
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  return `map[${Object.keys(v)
    .sort()
    .map((k) => `${k}:${goString(v[k]!)}`)
    .join(' ')}]`;
}

/** `json.Marshal`: sorted object keys, `<`, `>`, `&` escaped, ints without a fraction. */
export function goJson(v: ExprValue, depth = 0): string {
  if (depth > 1000) throw new ExprEvalError('json: value nested too deeply');
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ExprEvalError(`json: unsupported value: ${goFloat(v)}`);
    return JSON.stringify(v);
  }
  if (typeof v === 'string')
    return JSON.stringify(v).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  if (typeof v === 'boolean') return String(v);
  if (v instanceof ExprFunction) throw new ExprEvalError('json: unsupported type: func');
  if (Array.isArray(v)) return `[${v.map((x) => goJson(x, depth + 1)).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${goJson(k)}:${goJson(v[k]!, depth + 1)}`)
    .join(',')}}`;
}

/** Equality as expr's `runtime.Equal`: numbers compare across int/float; deep for lists/maps. */
export function equal(a: ExprValue, b: ExprValue): boolean {
  if (isNumeric(a) && isNumeric(b))
    return typeof a === typeof b ? a === b : Number(a) === Number(b);
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && equal(a[k]!, b[k]!))
    );
  }
  return false;
}

/** The Go type name of a value, for error messages. */
export function typeName(v: ExprValue): string {
  if (v === null) return 'nil';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof ExprFunction) return 'func';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Converts decoded JSON into expr values (all numbers are float64, as with encoding/json). */
export function fromJson(v: unknown, depth = 0): ExprValue {
  if (depth > 1000) throw new ExprEvalError('value nested too deeply');
  if (v === null || v === undefined) return null;
  if (
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    typeof v === 'number' ||
    typeof v === 'bigint'
  )
    return v;
  if (Array.isArray(v)) return v.map((x) => fromJson(x, depth + 1));
  if (typeof v === 'object') {
    const out: ExprMap = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      out[k] = fromJson(x, depth + 1);
    return out;
  }
  return null;
}

/** Parses JSON text into expr values; throws ExprEvalError. */
export function parseJsonValue(text: string): ExprValue {
  try {
    return fromJson(JSON.parse(text));
  } catch (e) {
    throw new ExprEvalError(`invalid JSON: ${(e as Error).message}`);
  }
}

/** Go's `cast.ToInt64`-like conversion used by sprig: strings parse (base 10), else 0. */
export function castInt(v: ExprValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number')
    return Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string')
    return /^[+-]?\d+$/.test(v.trim()) ? BigInt.asIntN(64, BigInt(v.trim())) : 0n;
  return 0n;
}

/** Go's `cast.ToFloat64`-like conversion used by sprig. */
export function castFloat(v: ExprValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number(v.trim());
    return v.trim() !== '' && !Number.isNaN(n) ? n : 0;
  }
  return 0;
}

/** sprig's `empty`: nil, false, 0, "", and empty lists/maps. */
export function isEmpty(v: ExprValue): boolean {
  if (v === null || v === false || v === '' || v === 0 || v === 0n) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isMap(v)) return Object.keys(v).length === 0;
  return false;
}
