/** Evaluates a parsed jq program with a step budget: every node yields a list of outputs. */
import { callBuiltin } from './jq.builtins.js';
import { JqError, MAX_DEPTH, type JqLimits, type JqProgram, type Node } from './jq.ast.js';
import {
  Deadline,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_VALUE_BYTES,
  ValueBudget,
} from '../../limits.js';
import {
  applyFormat,
  deepMerge,
  getIn,
  jqCompare,
  setIn,
  show,
  truthy,
  typeOf,
} from './jq.values.js';

export type Env = { name: string; value: unknown; up: Env | undefined } | undefined;

/** Sizes of measured values: jq never mutates a value once built, so the cache is shared. */
const sizes = new WeakMap<object, number>();

export class Evaluator {
  steps = 0;
  private readonly deadline: Deadline;
  private readonly budget: ValueBudget;
  constructor(
    private readonly maxSteps: number,
    private readonly maxOutputs: number,
    deadlineMs = DEFAULT_DEADLINE_MS,
    maxValueBytes = DEFAULT_MAX_VALUE_BYTES,
  ) {
    this.deadline = new Deadline(deadlineMs);
    this.budget = new ValueBudget(maxValueBytes, sizes);
  }

  step(n = 1): void {
    this.steps += n;
    if (this.steps > this.maxSteps) throw new JqError(`jq program exceeded ${this.maxSteps} steps`);
    if (this.deadline.tick())
      throw new JqError(`jq program exceeded its deadline of ${this.deadline.ms} ms`);
  }

  get maxValueBytes(): number {
    return this.budget.maxBytes;
  }

  /** Throws when `v` is larger than the value budget. */
  checkSize(v: unknown): unknown {
    if (!this.budget.fits(v))
      throw new JqError(
        `jq program exceeded the value size limit of ${this.budget.maxBytes} bytes`,
      );
    return v;
  }

  lookup(env: Env, name: string): unknown {
    for (let e = env; e; e = e.up) if (e.name === name) return e.value;
    throw new JqError(`$${name} is not defined`);
  }

  one(n: Node, input: unknown, env: Env, what: string): unknown {
    const out = this.eval(n, input, env, 0);
    if (out.length !== 1)
      throw new JqError(`${what} must produce exactly one value, got ${out.length}`);
    return out[0];
  }

  /** Outputs of nodes that build new values (strings, arrays, objects) are checked by {@link sized}. */
  eval(n: Node, input: unknown, env: Env, depth: number): unknown[] {
    this.step();
    if (depth > MAX_DEPTH * 4) throw new JqError('jq evaluation nested too deeply');
    const d = depth + 1;
    switch (n.t) {
      case 'identity':
        return [input];
      case 'recurse': {
        const out: unknown[] = [];
        const walk = (v: unknown, lvl: number): void => {
          this.step();
          if (lvl > 512) throw new JqError('.. recursion too deep');
          out.push(v);
          if (Array.isArray(v)) v.forEach((x) => walk(x, lvl + 1));
          else if (v && typeof v === 'object') Object.values(v).forEach((x) => walk(x, lvl + 1));
        };
        walk(input, 0);
        return out;
      }
      case 'lit':
        return [n.value];
      case 'var':
        return [this.lookup(env, n.name)];
      case 'field':
        return this.eval(n.of, input, env, d).flatMap((v) => this.index(v, n.name, n.opt));
      case 'index': {
        const out: unknown[] = [];
        for (const v of this.eval(n.of, input, env, d))
          for (const k of this.eval(n.idx, input, env, d)) out.push(...this.index(v, k, n.opt));
        return out;
      }
      case 'slice': {
        const out: unknown[] = [];
        for (const v of this.eval(n.of, input, env, d)) {
          const from = n.from ? this.one(n.from, input, env, 'slice start') : null;
          const to = n.to ? this.one(n.to, input, env, 'slice end') : null;
          if (v === null) {
            out.push(null);
            continue;
          }
          if (typeof v !== 'string' && !Array.isArray(v)) {
            if (n.opt) continue;
            throw new JqError(`cannot index ${typeOf(v)} with object`);
          }
          const f = typeof from === 'number' ? Math.floor(from) : 0;
          const t = typeof to === 'number' ? Math.ceil(to) : v.length;
          out.push(v.slice(f, t));
        }
        return out;
      }
      case 'iterate':
        return this.eval(n.of, input, env, d).flatMap((v) => {
          if (Array.isArray(v)) return v;
          if (v && typeof v === 'object') return Object.values(v);
          if (n.opt) return [];
          throw new JqError(`cannot iterate over ${typeOf(v)}${v === null ? '' : ` (${show(v)})`}`);
        });
      case 'try':
        try {
          return this.eval(n.body, input, env, d);
        } catch (e) {
          if (!(e instanceof JqError) || /exceeded|too deep|too many/.test(e.message)) throw e;
          return n.catch ? this.eval(n.catch, e.message, env, d) : [];
        }
      case 'str': {
        let acc: string[] = [''];
        for (const p of n.parts) {
          if (typeof p === 'string') acc = acc.map((a) => a + p);
          else {
            const vals = this.eval(p, input, env, d).map((v) =>
              n.format ? applyFormat(n.format, v) : typeof v === 'string' ? v : JSON.stringify(v),
            );
            acc = acc.flatMap((a) => vals.map((v) => a + v));
          }
        }
        return this.sized(acc);
      }
      case 'format':
        return this.sized([applyFormat(n.name, input)]);
      case 'array':
        return this.sized([n.body ? this.eval(n.body, input, env, d) : []]);
      case 'object': {
        let objs: Record<string, unknown>[] = [{}];
        for (const e of n.entries) {
          const keys = this.eval(e.key, input, env, d);
          const next: Record<string, unknown>[] = [];
          for (const k of keys) {
            if (typeof k !== 'string')
              throw new JqError(`object keys must be strings, got ${typeOf(k)}`);
            const vals = e.value ? this.eval(e.value, input, env, d) : this.index(input, k, false);
            for (const o of objs) for (const v of vals) next.push({ ...o, [k]: v });
          }
          objs = next;
          if (objs.length > this.maxOutputs) throw new JqError('too many outputs');
        }
        return this.sized(objs);
      }
      case 'pipe': {
        const out: unknown[] = [];
        for (const v of this.eval(n.left, input, env, d)) {
          out.push(...this.eval(n.right, v, env, d));
          if (out.length > this.maxOutputs) throw new JqError('too many outputs');
        }
        return out;
      }
      case 'comma':
        return [...this.eval(n.left, input, env, d), ...this.eval(n.right, input, env, d)];
      case 'alt': {
        let left: unknown[];
        try {
          left = this.eval(n.left, input, env, d).filter(truthy);
        } catch (e) {
          if (!(e instanceof JqError) || /exceeded|too deep/.test(e.message)) throw e;
          left = [];
        }
        return left.length ? left : this.eval(n.right, input, env, d);
      }
      case 'and':
      case 'or': {
        const out: unknown[] = [];
        for (const l of this.eval(n.left, input, env, d)) {
          if (n.t === 'and' && !truthy(l)) out.push(false);
          else if (n.t === 'or' && truthy(l)) out.push(true);
          else for (const r of this.eval(n.right, input, env, d)) out.push(truthy(r));
        }
        return out;
      }
      case 'neg':
        return this.eval(n.body, input, env, d).map((v) => {
          if (typeof v !== 'number')
            throw new JqError(`${typeOf(v)} (${show(v)}) cannot be negated`);
          return -v;
        });
      case 'bin': {
        const out: unknown[] = [];
        for (const r of this.eval(n.right, input, env, d))
          for (const l of this.eval(n.left, input, env, d)) out.push(binop(n.op, l, r, this));
        return this.sized(out);
      }
      case 'if': {
        const out: unknown[] = [];
        for (const c of this.eval(n.cond, input, env, d)) {
          if (truthy(c)) out.push(...this.eval(n.then, input, env, d));
          else out.push(...(n.else ? this.eval(n.else, input, env, d) : [input]));
        }
        return out;
      }
      case 'as': {
        const out: unknown[] = [];
        for (const v of this.eval(n.src, input, env, d))
          out.push(...this.eval(n.body, input, { name: n.name, value: v, up: env }, d));
        return out;
      }
      case 'reduce': {
        let acc = this.eval(n.init, input, env, d);
        for (const v of this.eval(n.src, input, env, d)) {
          const e2: Env = { name: n.name, value: v, up: env };
          acc = acc.flatMap((a) => this.eval(n.update, a, e2, d)).slice(-1);
        }
        return acc;
      }
      case 'assign': {
        const paths = this.paths(n.path, input, env, d);
        if (n.op === '=') {
          return this.sized(
            this.eval(n.value, input, env, d).map((v) =>
              paths.reduce((doc, p) => setIn(doc, p, v, 0), input),
            ),
          );
        }
        let doc = input;
        for (const p of paths) {
          const cur = getIn(doc, p);
          const nv = this.eval(n.value, cur, env, d);
          doc = nv.length ? setIn(doc, p, nv[0], 0) : doc;
        }
        return this.sized([doc]);
      }
      case 'call':
        return this.sized(callBuiltin(this, n.name, n.args, input, env, d));
    }
  }

  private sized(out: unknown[]): unknown[] {
    for (const v of out) this.checkSize(v);
    return out;
  }

  index(v: unknown, k: unknown, opt: boolean): unknown[] {
    if (v === null || v === undefined) return [null];
    if (typeof k === 'string' && v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return [Object.prototype.hasOwnProperty.call(o, k) ? o[k] : null];
    }
    if (typeof k === 'number' && Array.isArray(v)) {
      const i = Math.floor(k < 0 ? v.length + k : k);
      return [i >= 0 && i < v.length ? v[i] : null];
    }
    if (opt) return [];
    throw new JqError(
      `cannot index ${typeOf(v)} with ${typeof k === 'string' ? `"${k}"` : typeOf(k)}`,
    );
  }

  /** Paths for `=`/`|=`: identity, fields, indexes, iteration, pipes, select-style filters. */
  paths(n: Node, input: unknown, env: Env, d: number): (string | number)[][] {
    this.step();
    switch (n.t) {
      case 'identity':
        return [[]];
      case 'field':
        return this.paths(n.of, input, env, d).map((p) => [...p, n.name]);
      case 'index':
        return this.paths(n.of, input, env, d).flatMap((p) =>
          this.eval(n.idx, input, env, d).map((k) => {
            if (typeof k !== 'string' && typeof k !== 'number')
              throw new JqError(`invalid path component ${show(k)}`);
            return [...p, k];
          }),
        );
      case 'iterate':
        return this.paths(n.of, input, env, d).flatMap((p) => {
          const v = getIn(input, p);
          if (Array.isArray(v)) return v.map((_x, i) => [...p, i]);
          if (v && typeof v === 'object') return Object.keys(v).map((k) => [...p, k]);
          if (v === null || v === undefined) return [];
          throw new JqError(`cannot iterate over ${typeOf(v)}`);
        });
      case 'pipe':
        return this.paths(n.left, input, env, d).flatMap((p) =>
          this.paths(n.right, getIn(input, p), env, d).map((q) => [...p, ...q]),
        );
      case 'comma':
        return [...this.paths(n.left, input, env, d), ...this.paths(n.right, input, env, d)];
      case 'call':
        if (n.name === 'select' && n.args.length === 1)
          return this.eval(n.args[0]!, input, env, d).some(truthy) ? [[]] : [];
        if (n.name === 'empty') return [];
        break;
    }
    throw new JqError('invalid path expression on the left of an assignment');
  }
}

export function binop(op: string, l: unknown, r: unknown, ev: Evaluator): unknown {
  switch (op) {
    case '==':
      return jqCompare(l, r) === 0;
    case '!=':
      return jqCompare(l, r) !== 0;
    case '<':
      return jqCompare(l, r) < 0;
    case '<=':
      return jqCompare(l, r) <= 0;
    case '>':
      return jqCompare(l, r) > 0;
    case '>=':
      return jqCompare(l, r) >= 0;
  }
  const err = (): never => {
    throw new JqError(
      `${typeOf(l)} (${show(l)}) and ${typeOf(r)} (${show(r)}) cannot be ${{ '+': 'added', '-': 'subtracted', '*': 'multiplied', '/': 'divided', '%': 'divided' }[op] ?? 'combined'}`,
    );
  };
  if (op === '+') {
    if (l === null) return r;
    if (r === null) return l;
    if (typeof l === 'number' && typeof r === 'number') return l + r;
    if (typeof l === 'string' && typeof r === 'string') {
      ev.step(Math.ceil((l.length + r.length) / 4096));
      return l + r;
    }
    if (Array.isArray(l) && Array.isArray(r)) {
      ev.step(Math.ceil((l.length + r.length) / 256));
      return [...l, ...r];
    }
    if (typeOf(l) === 'object' && typeOf(r) === 'object')
      return { ...(l as object), ...(r as object) };
    return err();
  }
  if (op === '-') {
    if (typeof l === 'number' && typeof r === 'number') return l - r;
    if (Array.isArray(l) && Array.isArray(r))
      return l.filter((x) => !r.some((y) => jqCompare(x, y) === 0));
    return err();
  }
  if (op === '*') {
    if (typeof l === 'number' && typeof r === 'number') return l * r;
    if (typeof l === 'string' && typeof r === 'number') {
      if (r <= 0) return null;
      ev.step(Math.ceil((l.length * r) / 4096));
      if (l.length * r > ev.maxValueBytes)
        throw new JqError(`jq program exceeded the value size limit of ${ev.maxValueBytes} bytes`);
      return l.repeat(Math.ceil(r));
    }
    if (typeOf(l) === 'object' && typeOf(r) === 'object')
      return deepMerge(l as Record<string, unknown>, r as Record<string, unknown>, 0);
    return err();
  }
  if (op === '/') {
    if (typeof l === 'number' && typeof r === 'number') {
      if (r === 0)
        throw new JqError(
          `${show(l)} and ${show(r)} cannot be divided because the divisor is zero`,
        );
      return l / r;
    }
    if (typeof l === 'string' && typeof r === 'string') return l.split(r);
    return err();
  }
  if (op === '%') {
    if (typeof l === 'number' && typeof r === 'number') {
      const ri = Math.trunc(r);
      if (ri === 0)
        throw new JqError(
          `${show(l)} and ${show(r)} cannot be divided because the divisor is zero`,
        );
      return Math.trunc(l) % Math.abs(ri);
    }
    return err();
  }
  return err();
}

/** Runs a compiled program on `input`; returns all outputs. Throws {@link JqError}. */
export function runJq(program: JqProgram, input: unknown, limits: JqLimits = {}): unknown[] {
  const ev = new Evaluator(
    limits.maxSteps ?? 1_000_000,
    limits.maxOutputs ?? 10_000,
    limits.deadlineMs,
    limits.maxValueBytes,
  );
  try {
    return ev.eval(program.ast, input, undefined, 0);
  } catch (e) {
    if (e instanceof JqError) throw e;
    if (e instanceof RangeError)
      throw new JqError(`jq program exceeded a resource limit: ${e.message}`);
    throw new JqError(e instanceof Error ? e.message : String(e));
  }
}
