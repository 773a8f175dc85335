/**
 * Functions available in templates: Go text/template builtins and the sprig
 * (https://masterminds.github.io/sprig/) functions Argo Events manifests use. Argo registers
 * `sprig.FuncMap()` for `dataTemplate`/`contextTemplate`/filter `template`.
 *
 * Builtins: eq ne lt le gt ge and or not len index print printf println html js urlquery.
 * Sprig: upper lower title trim trimPrefix trimSuffix replace contains hasPrefix hasSuffix
 * split splitList join default empty coalesce toJson toPrettyJson fromJson mustFromJson
 * b64enc b64dec quote squote cat indent nindent substr trunc repeat list dict get set hasKey
 * keys toString atoi int int64 float64 add sub mul div mod max min now date regexMatch
 * regexFind regexReplaceAll sha256sum uuidv4 ternary.
 * Regular expressions use RE2 (re2js, linear time) like Go's `regexp`.
 */
import { createHash } from 'node:crypto';
import { parseRegex } from '@ganglion/api';
import type { RE2JS } from 're2js';
import {
  GoTime,
  formatV,
  goJson,
  goQuote,
  goSprintf,
  isEmpty,
  truth,
  typeName,
} from './go-format.js';
import { TemplateError } from './template.parser.js';

/** What a function may use from the executor: budget, injected clock and randomness. */
export interface FunctionContext {
  step(n?: number): void;
  checkSize(len: number): void;
  now(): Date;
  randomBytes(n: number): Uint8Array;
}

export type TemplateFunction = (ctx: FunctionContext, args: unknown[]) => unknown;

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === null || v === undefined ? '' : formatV(v);

function arity(name: string, args: unknown[], n: number): void {
  if (args.length !== n)
    throw new TemplateError(`wrong number of args for ${name}: want ${n} got ${args.length}`);
}

/** cast.ToInt64 as sprig uses it: floats truncate, strings parse (base prefix allowed), else 0. */
function toInt64(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|\d+)$/.test(s)) {
      const neg = s.startsWith('-');
      let b = s.replace(/^[+-]/, '');
      if (/^0[0-7]+$/.test(b)) b = '0o' + b.slice(1);
      const r = BigInt(b);
      return neg ? -r : r;
    }
    return 0n;
  }
  return 0n;
}

function toFloat64(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const f = Number(v.trim());
    return v.trim() !== '' && Number.isFinite(f) ? f : 0;
  }
  return 0;
}

const wrap64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** Go's basic kinds for comparison functions. */
function kind(v: unknown): 'bool' | 'int' | 'float' | 'string' | 'nil' | 'other' {
  if (v === null || v === undefined) return 'nil';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'string';
  }
  return 'other';
}

function goEq(a: unknown, b: unknown): boolean {
  const ka = kind(a);
  const kb = kind(b);
  if (ka === 'other' || kb === 'other') {
    if (ka === 'nil' || kb === 'nil') return false;
    throw new TemplateError(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  }
  if (ka === 'nil' || kb === 'nil') return ka === kb;
  if (ka !== kb)
    throw new TemplateError(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  return a === b;
}

function goLt(a: unknown, b: unknown): boolean {
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb)
    throw new TemplateError(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  if (ka !== 'int' && ka !== 'float' && ka !== 'string')
    throw new TemplateError(`invalid type for comparison: ${typeName(a)}`);
  return (a as number) < (b as number);
}

const reCache = new Map<string, RE2JS>();
/** Compiles (and caches) an RE2 regular expression with Go `regexp` syntax. */
export function compileRegex(pattern: string): RE2JS {
  let re = reCache.get(pattern);
  if (!re) {
    try {
      re = parseRegex(pattern);
    } catch (e) {
      throw new TemplateError(
        `error parsing regexp: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (reCache.size > 1000) reCache.clear();
    reCache.set(pattern, re);
  }
  return re;
}

function indent(ctx: FunctionContext, n: unknown, s: unknown): string {
  const count = Number(toInt64(n));
  const text = str(s);
  if (count < 0) return text;
  ctx.checkSize(count * text.split('\n').length);
  const pad = ' '.repeat(count);
  return pad + text.replace(/\n/g, '\n' + pad);
}

/** Go layout formatting (`time.Format`) for the common layout elements, in UTC. */
function formatGoLayout(layout: string, t: GoTime): string {
  const d = new Date(t.ms);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const months = [
    'January',
    'February',
    'March',
    'April',
    'May',
    'June',
    'July',
    'August',
    'September',
    'October',
    'November',
    'December',
  ];
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const h = d.getUTCHours();
  const tokens: [string, () => string][] = [
    ['2006', () => String(d.getUTCFullYear())],
    ['January', () => months[d.getUTCMonth()]!],
    ['Jan', () => months[d.getUTCMonth()]!.slice(0, 3)],
    ['Monday', () => days[d.getUTCDay()]!],
    ['Mon', () => days[d.getUTCDay()]!.slice(0, 3)],
    ['MST', () => 'UTC'],
    ['Z07:00', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['-0700', () => '+0000'],
    ['.000000000', () => '.' + String(d.getUTCMilliseconds()).padStart(3, '0') + '000000'],
    ['.000000', () => '.' + String(d.getUTCMilliseconds()).padStart(3, '0') + '000'],
    ['.000', () => '.' + String(d.getUTCMilliseconds()).padStart(3, '0')],
    ['01', () => p2(d.getUTCMonth() + 1)],
    ['02', () => p2(d.getUTCDate())],
    ['06', () => p2(d.getUTCFullYear() % 100)],
    ['15', () => p2(h)],
    ['03', () => p2(h % 12 === 0 ? 12 : h % 12)],
    ['04', () => p2(d.getUTCMinutes())],
    ['05', () => p2(d.getUTCSeconds())],
    ['PM', () => (h >= 12 ? 'PM' : 'AM')],
    ['pm', () => (h >= 12 ? 'pm' : 'am')],
    ['1', () => String(d.getUTCMonth() + 1)],
    ['2', () => String(d.getUTCDate())],
    ['3', () => String(h % 12 === 0 ? 12 : h % 12)],
    ['4', () => String(d.getUTCMinutes())],
    ['5', () => String(d.getUTCSeconds())],
  ];
  let out = '';
  outer: for (let i = 0; i < layout.length;) {
    for (const [tok, f] of tokens) {
      if (layout.startsWith(tok, i)) {
        out += f();
        i += tok.length;
        continue outer;
      }
    }
    out += layout[i];
    i++;
  }
  return out;
}

function toTime(v: unknown): GoTime {
  if (v instanceof GoTime) return v;
  if (typeof v === 'bigint') return new GoTime(Number(v) * 1000);
  if (typeof v === 'number') return new GoTime(Math.trunc(v) * 1000);
  throw new TemplateError(`date: unsupported date value of type ${typeName(v)}`);
}

function mustJson(v: unknown, indentStr = ''): string {
  try {
    return goJson(v, indentStr);
  } catch (e) {
    throw new TemplateError(e instanceof Error ? e.message : String(e));
  }
}

function numFold(args: unknown[], f: (a: bigint, b: bigint) => bigint): bigint {
  if (args.length === 0) throw new TemplateError('want at least 1 argument');
  let acc = toInt64(args[0]);
  for (const a of args.slice(1)) acc = wrap64(f(acc, toInt64(a)));
  return acc;
}

const asDict = (v: unknown, name: string): Record<string, unknown> => {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof GoTime))
    return v as Record<string, unknown>;
  throw new TemplateError(`${name}: expected a dict, got ${typeName(v)}`);
};

function fromJson(s: unknown): unknown {
  return JSON.parse(str(s)) as unknown;
}

function goTitle(s: string): string {
  return s.replace(
    /(^|[^\p{L}\p{N}_'])(\p{L})/gu,
    (_m, pre: string, c: string) => pre + c.toUpperCase(),
  );
}

function lenOf(v: unknown): bigint {
  if (typeof v === 'string') return BigInt(Buffer.byteLength(v, 'utf8'));
  if (Array.isArray(v)) return BigInt(v.length);
  if (v !== null && typeof v === 'object' && !(v instanceof GoTime))
    return BigInt(Object.keys(v).length);
  throw new TemplateError(`len of type ${typeName(v)}`);
}

function indexOf(v: unknown, keys: unknown[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (Array.isArray(cur) || typeof cur === 'string') {
      if (typeof k !== 'bigint' && typeof k !== 'number')
        throw new TemplateError(`cannot index slice/array with type ${typeName(k)}`);
      const i = Number(k);
      const len = typeof cur === 'string' ? Buffer.byteLength(cur) : cur.length;
      if (!Number.isInteger(i) || i < 0 || i >= len)
        throw new TemplateError(`index out of range: ${i}`);
      cur = typeof cur === 'string' ? BigInt(Buffer.from(cur, 'utf8')[i]!) : cur[i];
    } else if (cur !== null && typeof cur === 'object' && !(cur instanceof GoTime)) {
      if (typeof k !== 'string')
        throw new TemplateError(`value has type ${typeName(k)}; should be string`);
      const o = cur as Record<string, unknown>;
      cur = Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
    } else if (cur === null || cur === undefined) throw new TemplateError('index of untyped nil');
    else throw new TemplateError(`can't index item of type ${typeName(cur)}`);
  }
  return cur;
}

function sprint(args: unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatV(a);
  }
  return out;
}

export const builtinFunctions: Record<string, TemplateFunction> = {
  // --- Go text/template builtins
  eq: (_c, a) => {
    if (a.length < 2) throw new TemplateError('missing argument for comparison');
    return a.slice(1).some((b) => goEq(a[0], b));
  },
  ne: (_c, a) => (arity('ne', a, 2), !goEq(a[0], a[1])),
  lt: (_c, a) => (arity('lt', a, 2), goLt(a[0], a[1])),
  le: (_c, a) => (arity('le', a, 2), goLt(a[0], a[1]) || goEq(a[0], a[1])),
  gt: (_c, a) => (arity('gt', a, 2), !goLt(a[0], a[1]) && !goEq(a[0], a[1])),
  ge: (_c, a) => (arity('ge', a, 2), !goLt(a[0], a[1])),
  not: (_c, a) => (arity('not', a, 1), !truth(a[0])),
  len: (_c, a) => (arity('len', a, 1), lenOf(a[0])),
  index: (_c, a) => {
    if (a.length < 1)
      throw new TemplateError('wrong number of args for index: want at least 1 got 0');
    return indexOf(a[0], a.slice(1));
  },
  print: (_c, a) => sprint(a),
  println: (_c, a) => a.map((x) => formatV(x)).join(' ') + '\n',
  printf: (_c, a) => {
    if (a.length < 1)
      throw new TemplateError('wrong number of args for printf: want at least 1 got 0');
    return goSprintf(str(a[0]), a.slice(1));
  },
  html: (_c, a) =>
    sprint(a).replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!,
    ),
  js: (_c, a) =>
    sprint(a).replace(/[\\'"<>&=\n\r]/g, (c) =>
      c === '\\'
        ? '\\\\'
        : c === "'"
          ? "\\'"
          : c === '"'
            ? '\\"'
            : c === '\n'
              ? '\\n'
              : c === '\r'
                ? '\\r'
                : '\\u00' + c.charCodeAt(0).toString(16).toUpperCase(),
    ),
  urlquery: (_c, a) =>
    encodeURIComponent(sprint(a))
      .replace(/%20/g, '+')
      .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),

  // --- sprig strings
  upper: (_c, a) => (arity('upper', a, 1), str(a[0]).toUpperCase()),
  lower: (_c, a) => (arity('lower', a, 1), str(a[0]).toLowerCase()),
  title: (_c, a) => (arity('title', a, 1), goTitle(str(a[0]))),
  trim: (_c, a) => (arity('trim', a, 1), str(a[0]).trim()),
  trimPrefix: (_c, a) => {
    arity('trimPrefix', a, 2);
    const p = str(a[0]);
    const s = str(a[1]);
    return p && s.startsWith(p) ? s.slice(p.length) : s;
  },
  trimSuffix: (_c, a) => {
    arity('trimSuffix', a, 2);
    const p = str(a[0]);
    const s = str(a[1]);
    return p && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  },
  replace: (c, a) => {
    arity('replace', a, 3);
    const out = str(a[2]).split(str(a[0])).join(str(a[1]));
    c.checkSize(out.length);
    return out;
  },
  contains: (_c, a) => (arity('contains', a, 2), str(a[1]).includes(str(a[0]))),
  hasPrefix: (_c, a) => (arity('hasPrefix', a, 2), str(a[1]).startsWith(str(a[0]))),
  hasSuffix: (_c, a) => (arity('hasSuffix', a, 2), str(a[1]).endsWith(str(a[0]))),
  split: (_c, a) => {
    arity('split', a, 2);
    const parts = str(a[1]).split(str(a[0]));
    return Object.fromEntries(parts.map((p, i) => [`_${i}`, p]));
  },
  splitList: (_c, a) => (arity('splitList', a, 2), str(a[1]).split(str(a[0]))),
  join: (_c, a) => {
    arity('join', a, 2);
    const l = Array.isArray(a[1]) ? a[1] : [a[1]];
    return l
      .filter((x) => x !== null && x !== undefined)
      .map((x) => str(x))
      .join(str(a[0]));
  },
  quote: (_c, a) =>
    a
      .filter((x) => x !== null && x !== undefined)
      .map((x) => goQuote(str(x)))
      .join(' '),
  squote: (_c, a) =>
    a
      .filter((x) => x !== null && x !== undefined)
      .map((x) => `'${str(x)}'`)
      .join(' '),
  cat: (_c, a) =>
    a
      .filter((x) => x !== null && x !== undefined)
      .map((x) => str(x))
      .join(' '),
  indent: (c, a) => (arity('indent', a, 2), indent(c, a[0], a[1])),
  nindent: (c, a) => (arity('nindent', a, 2), '\n' + indent(c, a[0], a[1])),
  substr: (_c, a) => {
    arity('substr', a, 3);
    const s = str(a[2]);
    let start = Number(toInt64(a[0]));
    let end = Number(toInt64(a[1]));
    if (start < 0) return s.slice(0, end < 0 ? undefined : end);
    if (end < 0 || end > s.length) end = s.length;
    if (start > end) start = end;
    return s.slice(start, end);
  },
  trunc: (_c, a) => {
    arity('trunc', a, 2);
    const n = Number(toInt64(a[0]));
    const s = str(a[1]);
    if (n < 0) return s.length + n < 0 ? s : s.slice(s.length + n);
    return s.length > n ? s.slice(0, n) : s;
  },
  repeat: (c, a) => {
    arity('repeat', a, 2);
    const n = Number(toInt64(a[0]));
    const s = str(a[1]);
    if (n <= 0) return '';
    c.checkSize(n * s.length);
    c.step(Math.ceil((n * s.length) / 1024));
    return s.repeat(n);
  },
  toString: (_c: FunctionContext, a: unknown[]) => (arity('toString', a, 1), str(a[0])),
  b64enc: (_c, a) => (arity('b64enc', a, 1), Buffer.from(str(a[0]), 'utf8').toString('base64')),
  b64dec: (_c, a) => {
    arity('b64dec', a, 1);
    const s = str(a[0]);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
      return `illegal base64 data at input byte ${Math.max(0, s.search(/[^A-Za-z0-9+/=]/))}`;
    return Buffer.from(s, 'base64').toString('utf8');
  },
  sha256sum: (_c, a) => (
    arity('sha256sum', a, 1),
    createHash('sha256').update(str(a[0]), 'utf8').digest('hex')
  ),
  regexMatch: (_c, a) => (
    arity('regexMatch', a, 2),
    compileRegex(str(a[0])).matcher(str(a[1])).find()
  ),
  regexFind: (_c, a) => {
    arity('regexFind', a, 2);
    const m = compileRegex(str(a[0])).matcher(str(a[1]));
    return m.find() ? (m.group(0) ?? '') : '';
  },
  regexReplaceAll: (c, a) => {
    arity('regexReplaceAll', a, 3);
    const out = compileRegex(str(a[0]))
      .matcher(str(a[1]))
      .replaceAll(str(a[2]).replace(/\$\{(\w+)\}/g, '$$$1'));
    c.checkSize(out.length);
    return out;
  },

  // --- sprig defaults, JSON, conditionals
  default: (_c, a) => {
    if (a.length === 0 || a.length > 2)
      throw new TemplateError(`wrong number of args for default: want 1 or 2 got ${a.length}`);
    return a.length < 2 || isEmpty(a[1]) ? a[0] : a[1];
  },
  empty: (_c, a) => (arity('empty', a, 1), isEmpty(a[0])),
  coalesce: (_c, a) => a.find((x) => !isEmpty(x)) ?? null,
  ternary: (_c, a) => (arity('ternary', a, 3), truth(a[2]) ? a[0] : a[1]),
  toJson: (_c, a) => (arity('toJson', a, 1), mustJson(a[0])),
  toPrettyJson: (_c, a) => (arity('toPrettyJson', a, 1), mustJson(a[0], '  ')),
  fromJson: (_c, a) => {
    arity('fromJson', a, 1);
    try {
      return fromJson(a[0]);
    } catch {
      return null;
    }
  },
  mustFromJson: (_c, a) => {
    arity('mustFromJson', a, 1);
    try {
      return fromJson(a[0]);
    } catch (e) {
      throw new TemplateError(e instanceof Error ? e.message : String(e));
    }
  },

  // --- sprig lists and dicts
  list: (_c, a) => a.slice(),
  dict: (_c, a) => {
    const d: Record<string, unknown> = {};
    for (let i = 0; i < a.length; i += 2) d[str(a[i])] = i + 1 < a.length ? a[i + 1] : '';
    return d;
  },
  get: (_c, a) => {
    arity('get', a, 2);
    const d = asDict(a[0], 'get');
    const k = str(a[1]);
    return Object.prototype.hasOwnProperty.call(d, k) ? d[k] : '';
  },
  set: (_c, a) => {
    arity('set', a, 3);
    const d = asDict(a[0], 'set');
    d[str(a[1])] = a[2];
    return d;
  },
  hasKey: (_c, a) => (
    arity('hasKey', a, 2),
    Object.prototype.hasOwnProperty.call(asDict(a[0], 'hasKey'), str(a[1]))
  ),
  keys: (_c, a) => a.flatMap((d) => Object.keys(asDict(d, 'keys'))).sort(),

  // --- sprig numbers
  atoi: (_c, a) => {
    arity('atoi', a, 1);
    const s = str(a[0]);
    return /^[+-]?\d+$/.test(s) ? BigInt(s) : 0n;
  },
  int: (_c, a) => (arity('int', a, 1), toInt64(a[0])),
  int64: (_c, a) => (arity('int64', a, 1), toInt64(a[0])),
  float64: (_c, a) => (arity('float64', a, 1), toFloat64(a[0])),
  add: (_c, a) => numFold(a, (x, y) => x + y),
  sub: (_c, a) => (arity('sub', a, 2), wrap64(toInt64(a[0]) - toInt64(a[1]))),
  mul: (_c, a) => numFold(a, (x, y) => x * y),
  div: (_c, a) => {
    arity('div', a, 2);
    const d = toInt64(a[1]);
    if (d === 0n) throw new TemplateError('runtime error: integer divide by zero');
    return wrap64(toInt64(a[0]) / d);
  },
  mod: (_c, a) => {
    arity('mod', a, 2);
    const d = toInt64(a[1]);
    if (d === 0n) throw new TemplateError('runtime error: integer divide by zero');
    return toInt64(a[0]) % d;
  },
  max: (_c, a) => numFold(a, (x, y) => (y > x ? y : x)),
  min: (_c, a) => numFold(a, (x, y) => (y < x ? y : x)),

  // --- sprig time and randomness (injected)
  now: (c, a) => (arity('now', a, 0), new GoTime(c.now().getTime())),
  date: (_c, a) => (arity('date', a, 2), formatGoLayout(str(a[0]), toTime(a[1]))),
  uuidv4: (c, a) => {
    arity('uuidv4', a, 0);
    const b = Uint8Array.from(c.randomBytes(16));
    if (b.length < 16) throw new TemplateError('randomness source returned too few bytes');
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = Buffer.from(b.subarray(0, 16)).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
};
