/** The jq builtins (the cases of {@link callBuiltin}), called by the evaluator with their unevaluated arguments. */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';
import { JqError, type Node } from './jq.ast.js';
import { binop, type Env, type Evaluator } from './jq.evaluator.js';
import { getIn, jqCompare, keysOf, lengthOf, show, truthy, typeOf } from './jq.values.js';

export function callBuiltin(
  ev: Evaluator,
  name: string,
  args: Node[],
  input: unknown,
  env: Env,
  d: number,
): unknown[] {
  const arg = (i: number): unknown[] => ev.eval(args[i]!, input, env, d);
  const single = (i: number, what: string): unknown => ev.one(args[i]!, input, env, what);
  const str = (v: unknown, fn: string): string => {
    if (typeof v !== 'string')
      throw new JqError(
        `${typeOf(v)} (${show(v)}) cannot be used with ${fn}, as it is not a string`,
      );
    return v;
  };
  const arr = (v: unknown, fn: string): unknown[] => {
    if (!Array.isArray(v))
      throw new JqError(
        `${typeOf(v)} (${show(v)}) cannot be used with ${fn}, as it is not an array`,
      );
    return v;
  };
  const key = `${name}/${args.length}`;
  switch (args.length === 0 ? name : key) {
    case 'empty':
      return [];
    case 'error':
      throw new JqError(typeof input === 'string' ? input : `${show(input)} (not a string)`);
    case 'error/1':
      throw new JqError(String(single(0, 'error message')));
    case 'not':
      return [!truthy(input)];
    case 'length':
      return [lengthOf(input)];
    case 'utf8bytelength':
      return [Buffer.byteLength(str(input, 'utf8bytelength'))];
    case 'keys':
      return [keysOf(input, true)];
    case 'keys_unsorted':
      return [keysOf(input, false)];
    case 'values':
      return truthy(input) ? [input] : [];
    case 'has/1':
      return arg(0).map((k) => {
        if (Array.isArray(input) && typeof k === 'number') return k >= 0 && k < input.length;
        if (typeOf(input) === 'object' && typeof k === 'string')
          return Object.prototype.hasOwnProperty.call(input, k);
        throw new JqError(`cannot check whether ${typeOf(input)} has a ${typeOf(k)} key`);
      });
    case 'in/1':
      return arg(0).map((o) => callBuiltin(ev, 'has', [{ t: 'lit', value: input }], o, env, d)[0]);
    case 'map/1': {
      const items = Array.isArray(input)
        ? input
        : typeOf(input) === 'object'
          ? Object.values(input as object)
          : (() => {
              throw new JqError(`cannot iterate over ${typeOf(input)}`);
            })();
      return [items.flatMap((x) => ev.eval(args[0]!, x, env, d))];
    }
    case 'map_values/1': {
      if (Array.isArray(input))
        return [input.flatMap((x) => ev.eval(args[0]!, x, env, d).slice(0, 1))];
      if (typeOf(input) !== 'object') throw new JqError(`cannot iterate over ${typeOf(input)}`);
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(input as object)) {
        const r = ev.eval(args[0]!, v, env, d);
        if (r.length) o[k] = r[0];
      }
      return [o];
    }
    case 'select/1':
      return arg(0)
        .filter(truthy)
        .map(() => input);
    case 'recurse':
      return ev.eval({ t: 'recurse' }, input, env, d);
    case 'type':
      return [typeOf(input)];
    case 'add': {
      const items = Array.isArray(input)
        ? input
        : typeOf(input) === 'object'
          ? Object.values(input as object)
          : input === null
            ? []
            : arr(input, 'add');
      return [
        items.reduce(
          (acc: unknown, x) => (acc === undefined ? x : binop('+', acc, x, ev)),
          undefined,
        ) ?? null,
      ];
    }
    case 'any':
      return [arr(input, 'any').some(truthy)];
    case 'all':
      return [arr(input, 'all').every(truthy)];
    case 'any/1':
      return [arr(input, 'any').some((x) => ev.eval(args[0]!, x, env, d).some(truthy))];
    case 'all/1':
      return [arr(input, 'all').every((x) => ev.eval(args[0]!, x, env, d).every(truthy))];
    case 'flatten':
    case 'flatten/1': {
      const depth = args.length ? Number(single(0, 'flatten depth')) : 1e9;
      if (depth < 0) throw new JqError('flatten depth must not be negative');
      const flat = (a: unknown[], dd: number): unknown[] =>
        a.flatMap((x) => (Array.isArray(x) && dd > 0 ? (ev.step(), flat(x, dd - 1)) : [x]));
      return [flat(arr(input, 'flatten'), depth)];
    }
    case 'range/1':
    case 'range/2': {
      const from = args.length === 2 ? Number(single(0, 'range start')) : 0;
      const to = Number(single(args.length - 1, 'range end'));
      const out: unknown[] = [];
      for (let i = from; i < to; i++) {
        ev.step();
        out.push(i);
      }
      return out;
    }
    case 'floor':
      return [Math.floor(num(input, 'floor'))];
    case 'ceil':
      return [Math.ceil(num(input, 'ceil'))];
    case 'round':
      return [Math.round(num(input, 'round'))];
    case 'sqrt':
      return [Math.sqrt(num(input, 'sqrt'))];
    case 'fabs':
    case 'abs':
      return [Math.abs(num(input, name))];
    case 'tostring':
      return [typeof input === 'string' ? input : JSON.stringify(input)];
    case 'tonumber': {
      if (typeof input === 'number') return [input];
      const s = str(input, 'tonumber').trim();
      const f = Number(s);
      if (s === '' || !Number.isFinite(f)) throw new JqError(`cannot parse '${s}' as a number`);
      return [f];
    }
    case 'tojson':
      return [JSON.stringify(input)];
    case 'fromjson':
      try {
        return [JSON.parse(str(input, 'fromjson')) as unknown];
      } catch (e) {
        throw new JqError(
          `${show(input)} cannot be parsed as JSON: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    case 'ascii_downcase':
      return [str(input, 'ascii_downcase').replace(/[A-Z]/g, (c) => c.toLowerCase())];
    case 'ascii_upcase':
      return [str(input, 'ascii_upcase').replace(/[a-z]/g, (c) => c.toUpperCase())];
    case 'trim':
      return [str(input, 'trim').trim()];
    case 'ltrim':
      return [str(input, 'ltrim').trimStart()];
    case 'rtrim':
      return [str(input, 'rtrim').trimEnd()];
    case 'ltrimstr/1':
      return arg(0).map((p) =>
        typeof input === 'string' && typeof p === 'string' && input.startsWith(p)
          ? input.slice(p.length)
          : input,
      );
    case 'rtrimstr/1':
      return arg(0).map((p) =>
        typeof input === 'string' && typeof p === 'string' && p && input.endsWith(p)
          ? input.slice(0, input.length - p.length)
          : input,
      );
    case 'startswith/1':
      return arg(0).map((p) => str(input, 'startswith').startsWith(str(p, 'startswith')));
    case 'endswith/1':
      return arg(0).map((p) => str(input, 'endswith').endsWith(str(p, 'endswith')));
    case 'split/1':
      return arg(0).map((sep) => str(input, 'split').split(str(sep, 'split')));
    case 'join/1':
      return arg(0).map((sep) =>
        arr(input, 'join')
          .map((x) =>
            x === null
              ? ''
              : typeof x === 'object'
                ? (() => {
                    throw new JqError(`cannot join with ${typeOf(x)}`);
                  })()
                : String(x),
          )
          .join(str(sep, 'join')),
      );
    case 'test/1':
    case 'test/2':
      return arg(0).map((re) =>
        regexTest(
          str(input, 'test'),
          str(re, 'test'),
          args.length === 2 ? String(single(1, 'regex flags') ?? '') : '',
        ),
      );
    case 'sub/2':
    case 'gsub/2':
      return arg(0).map((re) => {
        const repl = single(1, `${name} replacement`);
        return regexReplace(str(input, name), str(re, name), str(repl, name), name === 'gsub');
      });
    case 'contains/1':
      return arg(0).map((b) => contains(input, b));
    case 'inside/1':
      return arg(0).map((b) => contains(b, input));
    case 'to_entries': {
      if (typeOf(input) !== 'object')
        throw new JqError(`${typeOf(input)} (${show(input)}) has no keys`);
      return [Object.entries(input as object).map(([k, v]) => ({ key: k, value: v }))];
    }
    case 'from_entries': {
      const o: Record<string, unknown> = {};
      for (const e of arr(input, 'from_entries')) {
        if (typeOf(e) !== 'object') throw new JqError(`cannot use ${typeOf(e)} as an entry`);
        const r = e as Record<string, unknown>;
        const k = r.key ?? r.k ?? r.name ?? r.Name ?? r.Key ?? r.K;
        o[typeof k === 'string' ? k : JSON.stringify(k)] = r.value ?? r.v ?? r.Value ?? r.V ?? null;
      }
      return [o];
    }
    case 'with_entries/1': {
      const entries = callBuiltin(ev, 'to_entries', [], input, env, d)[0] as unknown[];
      const mapped = entries.flatMap((x) => ev.eval(args[0]!, x, env, d));
      return callBuiltin(ev, 'from_entries', [], mapped, env, d);
    }
    case 'sort':
      ev.step(arr(input, 'sort').length);
      return [[...(input as unknown[])].sort(jqCompare)];
    case 'sort_by/1':
    case 'group_by/1':
    case 'unique_by/1':
    case 'min_by/1':
    case 'max_by/1': {
      const items = arr(input, name).map((x) => ({ x, k: ev.eval(args[0]!, x, env, d) }));
      items.sort((a, b) => jqCompare(a.k, b.k));
      if (name === 'sort_by') return [items.map((i) => i.x)];
      if (name === 'min_by') return [items[0]?.x ?? null];
      if (name === 'max_by') return [items[items.length - 1]?.x ?? null];
      const groups: unknown[][] = [];
      let last: unknown[] | undefined;
      for (const i of items) {
        if (last && jqCompare(last, i.k) === 0) groups[groups.length - 1]!.push(i.x);
        else groups.push([i.x]);
        last = i.k;
      }
      return [name === 'group_by' ? groups : groups.map((g) => g[0])];
    }
    case 'unique': {
      const s = [...arr(input, 'unique')].sort(jqCompare);
      return [s.filter((x, i) => i === 0 || jqCompare(s[i - 1], x) !== 0)];
    }
    case 'min': {
      const s = [...arr(input, 'min')].sort(jqCompare);
      return [s[0] ?? null];
    }
    case 'max': {
      const s = [...arr(input, 'max')].sort(jqCompare);
      return [s[s.length - 1] ?? null];
    }
    case 'reverse':
      return [
        typeof input === 'string'
          ? [...input].reverse().join('')
          : input === null
            ? []
            : [...arr(input, 'reverse')].reverse(),
      ];
    case 'first':
      return [Array.isArray(input) ? (input[0] ?? null) : ev.index(input, 0, false)[0]];
    case 'last':
      return [
        Array.isArray(input) ? (input[input.length - 1] ?? null) : ev.index(input, -1, false)[0],
      ];
    case 'first/1':
      return arg(0).slice(0, 1);
    case 'last/1':
      return arg(0).slice(-1);
    case 'limit/2': {
      const n = Number(single(0, 'limit'));
      return n <= 0 ? [] : arg(1).slice(0, n);
    }
    case 'nth/1':
      return arg(0).map((n) => (Array.isArray(input) ? (input[Number(n)] ?? null) : null));
    case 'isempty/1':
      return [arg(0).length === 0];
    case 'indices/1':
      return arg(0).map((s) => {
        if (typeof input === 'string' && typeof s === 'string' && s) {
          const out: number[] = [];
          for (let i = input.indexOf(s); i >= 0; i = input.indexOf(s, i + 1)) out.push(i);
          return out;
        }
        if (Array.isArray(input))
          return input.map((x, i) => (jqCompare(x, s) === 0 ? i : -1)).filter((i) => i >= 0);
        return null;
      });
    case 'del/1': {
      const paths = ev.paths(args[0]!, input, env, d).sort((a, b) => jqCompare(b, a));
      let doc = input;
      for (const p of paths) doc = deleteIn(doc, p, 0);
      return [doc];
    }
    case 'getpath/1':
      return arg(0).map((p) => getIn(input, arr(p, 'getpath') as (string | number)[]));
    case 'arrays':
      return Array.isArray(input) ? [input] : [];
    case 'objects':
      return typeOf(input) === 'object' ? [input] : [];
    case 'strings':
      return typeof input === 'string' ? [input] : [];
    case 'numbers':
      return typeof input === 'number' ? [input] : [];
    case 'booleans':
      return typeof input === 'boolean' ? [input] : [];
    case 'nulls':
      return input === null ? [input] : [];
    case 'scalars':
      return typeOf(input) !== 'object' && !Array.isArray(input) ? [input] : [];
    case 'iterables':
      return typeOf(input) === 'object' || Array.isArray(input) ? [input] : [];
    case 'to_array':
      return [Array.isArray(input) ? input : [input]];
  }
  throw new JqError(`${name}/${args.length} is not defined`);
}

function num(v: unknown, fn: string): number {
  if (typeof v !== 'number')
    throw new JqError(`${typeOf(v)} (${show(v)}) number required for ${fn}`);
  return v;
}

function contains(a: unknown, b: unknown): boolean {
  if (typeOf(a) !== typeOf(b))
    throw new JqError(
      `${typeOf(a)} (${show(a)}) and ${typeOf(b)} (${show(b)}) cannot have their containment checked`,
    );
  if (typeof a === 'string') return a.includes(b as string);
  if (Array.isArray(a))
    return (b as unknown[]).every((y) => a.some((x) => typeOf(x) === typeOf(y) && contains(x, y)));
  if (typeOf(a) === 'object')
    return Object.entries(b as object).every(
      ([k, v]) =>
        Object.prototype.hasOwnProperty.call(a, k) &&
        typeOf((a as Record<string, unknown>)[k]) === typeOf(v) &&
        contains((a as Record<string, unknown>)[k], v),
    );
  return jqCompare(a, b) === 0;
}

function deleteIn(doc: unknown, path: readonly (string | number)[], i: number): unknown {
  if (doc === null || doc === undefined) return doc;
  const k = path[i];
  if (k === undefined) return null;
  const last = i === path.length - 1;
  if (Array.isArray(doc) && typeof k === 'number') {
    const c = doc.slice();
    const idx = k < 0 ? c.length + k : k;
    if (idx < 0 || idx >= c.length) return doc;
    if (last) c.splice(idx, 1);
    else c[idx] = deleteIn(c[idx], path, i + 1);
    return c;
  }
  if (typeOf(doc) === 'object' && typeof k === 'string') {
    const o = { ...(doc as Record<string, unknown>) };
    if (!(k in o)) return doc;
    if (last) delete o[k];
    else o[k] = deleteIn(o[k], path, i + 1);
    return o;
  }
  throw new JqError(`cannot delete field at ${typeOf(k)} index of ${typeOf(doc)}`);
}

// Regexes go through RE2 (linear time); jq uses Oniguruma, whose syntax mostly overlaps.
// re2js loads on the first regex a jq program compiles (a service's idle memory).
let engine: typeof RE2JS | undefined;
const re2 = (): typeof RE2JS =>
  (engine ??= (createRequire(import.meta.url)('re2js') as { RE2JS: typeof RE2JS }).RE2JS);

function compileRe(re: string, flags: string): RE2JS {
  const RE2 = re2();
  let f = 0;
  if (flags.includes('i')) f |= RE2.CASE_INSENSITIVE;
  if (flags.includes('s')) f |= RE2.DOTALL;
  if (flags.includes('x')) throw new JqError('regex flag x is not supported');
  try {
    return RE2.compile(re, f);
  } catch (e) {
    throw new JqError(
      `${re} (at offset 0) is not a valid regex: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

function regexTest(s: string, re: string, flags: string): boolean {
  return compileRe(re, flags).matcher(s).find();
}

function regexReplace(s: string, re: string, repl: string, global: boolean): string {
  const m = compileRe(re, '').matcher(s);
  const r = repl.replace(/\$/g, '\\$');
  return global ? m.replaceAll(r) : m.replaceFirst(r);
}
