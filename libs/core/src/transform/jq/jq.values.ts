/** JSON values as jq sees them: type names, the total order, truthiness, paths, formats. */
import { JqError } from './jq.ast.js';

export function typeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

export function show(v: unknown): string {
  const s = JSON.stringify(v) ?? 'null';
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

const ORDER = ['null', 'boolean', 'number', 'string', 'array', 'object'];
/** jq's total order over JSON values. */
export function jqCompare(a: unknown, b: unknown): number {
  const ta = ORDER.indexOf(typeOf(a));
  const tb = ORDER.indexOf(typeOf(b));
  if (ta !== tb) return ta - tb;
  if (a === null || a === undefined) return 0;
  if (typeof a === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'number') return a - (b as number);
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    for (let i = 0; i < Math.min(a.length, bb.length); i++) {
      const c = jqCompare(a[i], bb[i]);
      if (c) return c;
    }
    return a.length - bb.length;
  }
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  const ka = Object.keys(oa).sort();
  const kb = Object.keys(ob).sort();
  const kc = jqCompare(ka, kb);
  if (kc) return kc;
  for (const k of ka) {
    const c = jqCompare(oa[k], ob[k]);
    if (c) return c;
  }
  return 0;
}

export const truthy = (v: unknown): boolean => v !== null && v !== undefined && v !== false;

export function getIn(doc: unknown, path: readonly (string | number)[]): unknown {
  let cur = doc;
  for (const k of path) {
    if (cur === null || cur === undefined) return null;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur === undefined ? null : cur;
}

export function setIn(
  doc: unknown,
  path: readonly (string | number)[],
  v: unknown,
  i: number,
): unknown {
  if (i === path.length) return v;
  const k = path[i]!;
  if (typeof k === 'number') {
    if (doc !== null && doc !== undefined && !Array.isArray(doc))
      throw new JqError(`cannot index ${typeOf(doc)} with number`);
    if (k > 1_000_000) throw new JqError('array index too large');
    const arr = Array.isArray(doc) ? doc.slice() : [];
    const idx = k < 0 ? arr.length + k : k;
    if (idx < 0) throw new JqError('out of bounds negative array index');
    while (arr.length < idx) arr.push(null);
    arr[idx] = setIn(arr[idx], path, v, i + 1);
    return arr;
  }
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc)))
    throw new JqError(`cannot index ${typeOf(doc)} with "${k}"`);
  const o = { ...((doc ?? {}) as Record<string, unknown>) };
  o[k] = setIn(o[k], path, v, i + 1);
  return o;
}

export function deepMerge(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  depth: number,
): Record<string, unknown> {
  if (depth > 256) throw new JqError('object merge too deep');
  const o = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = o[k];
    o[k] =
      typeOf(cur) === 'object' && typeOf(v) === 'object'
        ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>, depth + 1)
        : v;
  }
  return o;
}

export function applyFormat(name: string, v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  switch (name) {
    case 'text':
      return s;
    case 'json':
      return JSON.stringify(v);
    case 'base64':
      return Buffer.from(s, 'utf8').toString('base64');
    case 'base64d':
      return Buffer.from(s, 'base64').toString('utf8');
    case 'uri':
      return encodeURIComponent(s).replace(
        /[!'()*]/g,
        (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
      );
    case 'html':
      return s.replace(
        /[<>&'"]/g,
        (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[c]!,
      );
    case 'sh':
      return `'${s.replace(/'/g, "'\\''")}'`;
    case 'csv':
    case 'tsv': {
      if (!Array.isArray(v))
        throw new JqError(`${typeOf(v)} cannot be ${name}-formatted, only an array can be`);
      return v
        .map((x) =>
          typeof x === 'string'
            ? name === 'csv'
              ? `"${x.replace(/"/g, '""')}"`
              : x.replace(/\t/g, '\\t')
            : JSON.stringify(x),
        )
        .join(name === 'csv' ? ',' : '\t');
    }
  }
  throw new JqError(`${name} is not a valid format`);
}

export function keysOf(v: unknown, sorted: boolean): unknown[] {
  if (Array.isArray(v)) return v.map((_x, i) => i);
  if (typeOf(v) === 'object') {
    const k = Object.keys(v as object);
    return sorted ? k.sort() : k;
  }
  throw new JqError(`${typeOf(v)} (${show(v)}) has no keys`);
}

export function lengthOf(v: unknown): unknown {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') throw new JqError(`boolean (${v}) has no length`);
  if (typeof v === 'number') return Math.abs(v);
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  return Object.keys(v).length;
}
