/**
 * Functions visible to EventSource filter expressions, as Argo wires them
 * (`pkg/shared/expr/eval.go GetFuncMap`):
 * - expr builtins: `len`, `string`, `int`, `float`, `upper`, `lower`, `trim`, `abs`;
 * - Argo helpers: `asInt`, `asFloat`, `toJson`, `jsonpath(jsonString, path)`;
 * - `sprig.<name>` (Masterminds/sprig generic functions; `env`/`expandenv` are removed in Argo
 *   and absent here). Implemented subset: upper lower trim trimAll trimPrefix trimSuffix title
 *   contains hasPrefix hasSuffix replace split splitList join toString toStrings atoi int int64
 *   float64 default empty coalesce ternary b64enc b64dec regexMatch repeat substr trunc nospace
 *   quote squote list dict hasKey keys add sub mul div mod max min.
 */
import { ExprEvalError, ExprFunction, type ExprMap, type ExprValue } from './expr.ast.js';
import { compileRe2 } from './re2.util.js';
import {
  castFloat,
  castInt,
  goJson,
  goString,
  isEmpty,
  isMap,
  isNumeric,
  parseJsonValue,
  typeName,
} from './expr.values.js';

const MAX_STRING = 1 << 20;

const fn = (
  name: string,
  arity: number | [number, number],
  call: (args: ExprValue[]) => ExprValue,
): ExprFunction =>
  new ExprFunction(name, (args) => {
    const [min, max] = typeof arity === 'number' ? [arity, arity] : arity;
    if (args.length < min || args.length > max) {
      throw new ExprEvalError(
        `${name}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`,
      );
    }
    return call(args);
  });

const str = (name: string, v: ExprValue): string => {
  if (typeof v !== 'string')
    throw new ExprEvalError(`${name}: expected string argument, got ${typeName(v)}`);
  return v;
};
const limit = (s: string): string => {
  if (s.length > MAX_STRING)
    throw new ExprEvalError(`string result longer than ${MAX_STRING} characters`);
  return s;
};
const toStr = (v: ExprValue): string => (v === null ? '' : goString(v));
const list = (name: string, v: ExprValue): ExprValue[] => {
  if (Array.isArray(v)) return v;
  throw new ExprEvalError(`${name}: expected a list, got ${typeName(v)}`);
};

function base64Encode(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
function base64Decode(s: string): string {
  try {
    const bin = atob(s);
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch (e) {
    // sprig returns the error text instead of failing.
    return `illegal base64 data: ${(e as Error).message}`;
  }
}

/** `asInt` (Argo): floats truncate, strings parse base 10, other types fail. */
function asInt(v: ExprValue): ExprValue {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number')
    return BigInt.asIntN(64, BigInt(Math.trunc(Number.isFinite(v) ? v : 0)));
  if (typeof v === 'string') {
    if (!/^[+-]?\d+$/.test(v))
      throw new ExprEvalError(
        `asInt: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`,
      );
    const n = BigInt(v);
    if (n !== BigInt.asIntN(64, n))
      throw new ExprEvalError(
        `asInt: strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`,
      );
    return n;
  }
  throw new ExprEvalError(`asInt() not supported on ${typeName(v)} ${goString(v)}`);
}

/** `asFloat` (Argo): numbers convert, strings parse, other types fail. */
function asFloat(v: ExprValue): ExprValue {
  if (isNumeric(v)) return Number(v);
  if (typeof v === 'string') {
    const n = Number(v.trim());
    if (v.trim() === '' || Number.isNaN(n))
      throw new ExprEvalError(
        `asFloat: strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`,
      );
    return n;
  }
  throw new ExprEvalError(`asFloat() not supported on ${typeName(v)} ${goString(v)}`);
}

/**
 * `jsonpath(jsonString, path)`: a JSONPath subset (`$`, `.key`, `['key']`, `[n]`, `[*]`, `.*`)
 * over the parsed document (PaesslerAG/jsonpath in Argo). A missing key is an error.
 */
function jsonPath(doc: string, path: string): ExprValue {
  const root = parseJsonValue(doc);
  const m = /^\$/.exec(path);
  if (!m) throw new ExprEvalError(`jsonpath: path must start with $: ${JSON.stringify(path)}`);
  let i = 1;
  let nodes: ExprValue[] = [root];
  let wildcard = false;
  const child = (key: string | number | '*'): void => {
    const next: ExprValue[] = [];
    for (const n of nodes) {
      if (key === '*') {
        if (Array.isArray(n)) next.push(...n);
        else if (isMap(n))
          next.push(
            ...Object.keys(n)
              .sort()
              .map((k) => n[k]!),
          );
      } else if (typeof key === 'number' && Array.isArray(n)) {
        const idx = key < 0 ? n.length + key : key;
        if (idx < 0 || idx >= n.length) {
          if (!wildcard) throw new ExprEvalError(`jsonpath: index ${key} out of bounds`);
        } else next.push(n[idx]!);
      } else if (isMap(n) && Object.prototype.hasOwnProperty.call(n, String(key)))
        next.push(n[String(key)]!);
      else if (!wildcard) throw new ExprEvalError(`jsonpath: unknown key ${String(key)}`);
    }
    nodes = next;
  };
  while (i < path.length) {
    const rest = path.slice(i);
    let mm: RegExpExecArray | null;
    if ((mm = /^\.\*/.exec(rest)) || (mm = /^\[\*\]/.exec(rest))) {
      wildcard = true;
      child('*');
    } else if ((mm = /^\.([A-Za-z0-9_$-]+)/.exec(rest))) child(mm[1]!);
    else if ((mm = /^\[\s*(-?\d+)\s*\]/.exec(rest))) child(Number(mm[1]));
    else if (
      (mm = /^\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest)) ||
      (mm = /^\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest))
    )
      child(mm[1]!.replace(/\\(.)/g, '$1'));
    else throw new ExprEvalError(`jsonpath: unsupported syntax at ${JSON.stringify(rest)}`);
    i += mm[0].length;
  }
  return wildcard ? nodes : (nodes[0] ?? null);
}

const num2 = (name: string, args: ExprValue[], op: (a: bigint, b: bigint) => bigint): ExprValue =>
  op(castInt(args[0]!), castInt(args[1]!));

const SPRIG: ExprFunction[] = [
  fn('upper', 1, ([s]) => toStr(s!).toUpperCase()),
  fn('lower', 1, ([s]) => toStr(s!).toLowerCase()),
  fn('trim', 1, ([s]) => toStr(s!).trim()),
  fn('trimAll', 2, ([cut, s]) => {
    const chars = new Set(toStr(cut!));
    const a = [...toStr(s!)];
    let b = 0;
    let e = a.length;
    while (b < e && chars.has(a[b]!)) b++;
    while (e > b && chars.has(a[e - 1]!)) e--;
    return a.slice(b, e).join('');
  }),
  fn('trimPrefix', 2, ([pre, s]) =>
    toStr(s!).startsWith(toStr(pre!)) ? toStr(s!).slice(toStr(pre!).length) : toStr(s!),
  ),
  fn('trimSuffix', 2, ([suf, s]) =>
    toStr(suf!) !== '' && toStr(s!).endsWith(toStr(suf!))
      ? toStr(s!).slice(0, -toStr(suf!).length)
      : toStr(s!),
  ),
  fn('title', 1, ([s]) =>
    toStr(s!).replace(
      /(^|[^\p{L}\p{N}'])(\p{L})/gu,
      (_m, a: string, b: string) => a + b.toUpperCase(),
    ),
  ),
  fn('contains', 2, ([sub, s]) => toStr(s!).includes(toStr(sub!))),
  fn('hasPrefix', 2, ([pre, s]) => toStr(s!).startsWith(toStr(pre!))),
  fn('hasSuffix', 2, ([suf, s]) => toStr(s!).endsWith(toStr(suf!))),
  fn('replace', 3, ([o, n, s]) => limit(toStr(s!).split(toStr(o!)).join(toStr(n!)))),
  fn('split', 2, ([sep, s]) => {
    const out: ExprMap = {};
    toStr(s!)
      .split(toStr(sep!))
      .forEach((part, i) => (out[`_${i}`] = part));
    return out;
  }),
  fn('splitList', 2, ([sep, s]) => toStr(s!).split(toStr(sep!))),
  fn('join', 2, ([sep, l]) =>
    limit(
      (Array.isArray(l) ? l : [l!])
        .filter((x) => x !== null)
        .map(toStr)
        .join(toStr(sep!)),
    ),
  ),
  fn('toString', 1, ([v]) => toStr(v!)),
  fn('toStrings', 1, ([l]) => (Array.isArray(l) ? l : [l!]).map(toStr)),
  fn('atoi', 1, ([s]) =>
    /^[+-]?\d+$/.test(toStr(s!)) ? BigInt.asIntN(64, BigInt(toStr(s!))) : 0n,
  ),
  fn('int', 1, ([v]) => castInt(v!)),
  fn('int64', 1, ([v]) => castInt(v!)),
  fn('float64', 1, ([v]) => castFloat(v!)),
  fn('default', [1, 2], ([d, given]) => (given === undefined || isEmpty(given) ? d! : given)),
  fn('empty', 1, ([v]) => isEmpty(v!)),
  fn('coalesce', [0, 64], (args) => args.find((a) => !isEmpty(a)) ?? null),
  fn('ternary', 3, ([a, b, c]) => (c === true ? a! : b!)),
  fn('b64enc', 1, ([s]) => base64Encode(toStr(s!))),
  fn('b64dec', 1, ([s]) => base64Decode(toStr(s!))),
  fn('regexMatch', 2, ([re, s]) => compileRe2(toStr(re!)).matcher(toStr(s!)).find()),
  fn('repeat', 2, ([n, s]) => {
    const count = Number(castInt(n!));
    if (count * toStr(s!).length > MAX_STRING)
      throw new ExprEvalError(`repeat: result longer than ${MAX_STRING} characters`);
    return toStr(s!).repeat(Math.max(0, count));
  }),
  fn('substr', 3, ([a, b, s]) => {
    const str0 = toStr(s!);
    const start = Number(castInt(a!));
    const end = Number(castInt(b!));
    if (start < 0) return str0.slice(0, end);
    if (end < 0 || end > str0.length) return str0.slice(start);
    return str0.slice(start, end);
  }),
  fn('trunc', 2, ([n, s]) => {
    const c = Number(castInt(n!));
    const str0 = toStr(s!);
    return c >= 0 ? str0.slice(0, c) : str0.slice(Math.max(0, str0.length + c));
  }),
  fn('nospace', 1, ([s]) => toStr(s!).replace(/\s+/g, '')),
  fn('quote', [0, 64], (args) =>
    args
      .filter((a) => a !== null)
      .map((a) => JSON.stringify(toStr(a)))
      .join(' '),
  ),
  fn('squote', [0, 64], (args) =>
    args
      .filter((a) => a !== null)
      .map((a) => `'${toStr(a)}'`)
      .join(' '),
  ),
  fn('list', [0, 1024], (args) => args),
  fn('dict', [0, 1024], (args) => {
    const out: ExprMap = {};
    for (let i = 0; i < args.length; i += 2) out[toStr(args[i]!)] = args[i + 1] ?? '';
    return out;
  }),
  fn('hasKey', 2, ([m, k]) => isMap(m) && Object.prototype.hasOwnProperty.call(m, toStr(k!))),
  fn('keys', [1, 64], (args) => args.flatMap((m) => (isMap(m) ? Object.keys(m) : []))),
  fn('add', 2, (a) => num2('add', a, (x, y) => BigInt.asIntN(64, x + y))),
  fn('sub', 2, (a) => num2('sub', a, (x, y) => BigInt.asIntN(64, x - y))),
  fn('mul', 2, (a) => num2('mul', a, (x, y) => BigInt.asIntN(64, x * y))),
  fn('div', 2, (a) =>
    num2('div', a, (x, y) => {
      if (y === 0n) throw new ExprEvalError('div: integer divide by zero');
      return x / y;
    }),
  ),
  fn('mod', 2, (a) =>
    num2('mod', a, (x, y) => {
      if (y === 0n) throw new ExprEvalError('mod: integer divide by zero');
      return x % y;
    }),
  ),
  fn('max', [1, 64], (args) => args.map(castInt).reduce((x, y) => (y > x ? y : x))),
  fn('min', [1, 64], (args) => args.map(castInt).reduce((x, y) => (y < x ? y : x))),
];

/** The `sprig` namespace map. */
export const SPRIG_FUNCTIONS: Readonly<ExprMap> = Object.freeze(
  Object.fromEntries(SPRIG.map((f) => [f.name, f])),
);

/** Argo's helpers, placed in the environment next to the data. */
export const ARGO_FUNCTIONS: Readonly<ExprMap> = Object.freeze({
  asInt: fn('asInt', 1, ([v]) => asInt(v!)),
  asFloat: fn('asFloat', 1, ([v]) => asFloat(v!)),
  toJson: fn('toJson', 1, ([v]) => limit(goJson(v!))),
  jsonpath: fn('jsonpath', 2, ([doc, path]) =>
    jsonPath(str('jsonpath', doc!), str('jsonpath', path!)),
  ),
});

/** expr's own builtins (resolved when no environment variable has the name). */
export const BUILTINS: Readonly<ExprMap> = Object.freeze({
  len: fn('len', 1, ([v]) => {
    if (typeof v === 'string') return BigInt([...v].length);
    if (Array.isArray(v)) return BigInt(v.length);
    if (isMap(v)) return BigInt(Object.keys(v).length);
    throw new ExprEvalError(`invalid argument for len (type ${typeName(v!)})`);
  }),
  string: fn('string', 1, ([v]) => goString(v!)),
  int: fn('int', 1, ([v]) => {
    if (typeof v === 'string') {
      if (!/^[+-]?\d+$/.test(v.trim()))
        throw new ExprEvalError(`int: strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
      return BigInt.asIntN(64, BigInt(v.trim()));
    }
    if (isNumeric(v)) return castInt(v);
    throw new ExprEvalError(`invalid operation: int(${typeName(v!)})`);
  }),
  float: fn('float', 1, ([v]) => {
    if (typeof v === 'string') {
      const n = Number(v.trim());
      if (v.trim() === '' || Number.isNaN(n))
        throw new ExprEvalError(
          `float: strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`,
        );
      return n;
    }
    if (isNumeric(v)) return Number(v);
    throw new ExprEvalError(`invalid operation: float(${typeName(v!)})`);
  }),
  upper: fn('upper', 1, ([s]) => str('upper', s!).toUpperCase()),
  lower: fn('lower', 1, ([s]) => str('lower', s!).toLowerCase()),
  trim: fn('trim', [1, 2], ([s, chars]) => {
    const v = str('trim', s!);
    if (chars === undefined) return v.trim();
    return (SPRIG_FUNCTIONS.trimAll as ExprFunction).call([chars, v]);
  }),
  abs: fn('abs', 1, ([v]) => {
    if (typeof v === 'bigint') return v < 0n ? -v : v;
    if (typeof v === 'number') return Math.abs(v);
    throw new ExprEvalError(`invalid argument for abs (type ${typeName(v!)})`);
  }),
  toJSON: fn('toJSON', 1, ([v]) => limit(goJson(v!))),
  fromJSON: fn('fromJSON', 1, ([v]) => parseJsonValue(str('fromJSON', v!))),
  contains: fn('contains', 2, ([a, b]) => str('contains', a!).includes(str('contains', b!))),
  hasPrefix: fn('hasPrefix', 2, ([a, b]) => str('hasPrefix', a!).startsWith(str('hasPrefix', b!))),
  hasSuffix: fn('hasSuffix', 2, ([a, b]) => str('hasSuffix', a!).endsWith(str('hasSuffix', b!))),
  indexOf: fn('indexOf', 2, ([a, b]) => BigInt(str('indexOf', a!).indexOf(str('indexOf', b!)))),
  split: fn('split', 2, ([a, b]) => str('split', a!).split(str('split', b!))),
  join: fn('join', [1, 2], ([l, sep]) =>
    limit(
      list('join', l!)
        .map((x) => str('join', x))
        .join(sep === undefined ? '' : str('join', sep)),
    ),
  ),
  keys: fn('keys', 1, ([m]) => (isMap(m) ? Object.keys(m) : list('keys', m!))),
  values: fn('values', 1, ([m]) => (isMap(m) ? Object.values(m) : list('values', m!))),
  first: fn('first', 1, ([l]) => list('first', l!)[0] ?? null),
  last: fn('last', 1, ([l]) => list('last', l!).at(-1) ?? null),
  max: fn('max', [1, 64], (args) => args.reduce((x, y) => (Number(y) > Number(x) ? y : x))),
  min: fn('min', [1, 64], (args) => args.reduce((x, y) => (Number(y) < Number(x) ? y : x))),
});
