/**
 * A bounded jq (https://jqlang.github.io/jq/manual/) subset, standing in for gojq as Argo Events
 * uses it in `transform.jq` (`pkg/sensors/dependencies/transform.go`). No npm jq package both
 * installs without binaries and can be interrupted, so this is an AST interpreter with a step
 * budget: parse once, evaluate many times.
 *
 * Supported: `.`, `..`, `.a`, `."a"`, `.[e]`, `.[]`, `.[a:b]`, `?`, pipes `|`, `,`, `//`,
 * `and`/`or`/`not`, comparisons, `+ - * / %`, literals, string interpolation `"\(e)"`, arrays
 * `[e]`, objects `{a, b: e, "c": e, (e): e, $x}`, `if … then … elif … else … end`,
 * `try … catch …`, `E as $x | body`, `reduce E as $x (init; update)`, variables, `=` and `|=`
 * on simple paths, and the builtins listed in {@link BUILTINS}.
 */
import { RE2JS } from 're2js';

export class JqError extends Error {
  override name = 'JqError';
}

type Node =
  | { t: 'identity' }
  | { t: 'recurse' }
  | { t: 'field'; of: Node; name: string; opt: boolean }
  | { t: 'index'; of: Node; idx: Node; opt: boolean }
  | { t: 'slice'; of: Node; from: Node | undefined; to: Node | undefined; opt: boolean }
  | { t: 'iterate'; of: Node; opt: boolean }
  | { t: 'try'; body: Node; catch: Node | undefined }
  | { t: 'lit'; value: unknown }
  | { t: 'str'; parts: (string | Node)[]; format: string | undefined }
  | { t: 'format'; name: string }
  | { t: 'array'; body: Node | undefined }
  | { t: 'object'; entries: { key: Node; value: Node | undefined }[] }
  | { t: 'pipe'; left: Node; right: Node }
  | { t: 'comma'; left: Node; right: Node }
  | { t: 'alt'; left: Node; right: Node }
  | { t: 'bin'; op: string; left: Node; right: Node }
  | { t: 'and' | 'or'; left: Node; right: Node }
  | { t: 'neg'; body: Node }
  | { t: 'if'; cond: Node; then: Node; else: Node | undefined }
  | { t: 'as'; src: Node; name: string; body: Node }
  | { t: 'reduce'; src: Node; name: string; init: Node; update: Node }
  | { t: 'var'; name: string }
  | { t: 'call'; name: string; args: Node[] }
  | { t: 'assign'; op: '=' | '|='; path: Node; value: Node };

export interface JqProgram {
  source: string;
  ast: Node;
}

export interface JqLimits {
  /** Max evaluation steps. Default 1 000 000. */
  maxSteps?: number;
  /** Max outputs collected. Default 10 000. */
  maxOutputs?: number;
}

const MAX_DEPTH = 128;
const MAX_SOURCE = 64 * 1024;

// ---------------------------------------------------------------------------- lexer

type Tok = { k: 'num'; v: number } | { k: 'str'; parts: (string | Tok[])[] } | { k: 'id' | 'var' | 'field' | 'fmt' | 'op' | 'kw'; v: string };
const KEYWORDS = new Set(['if', 'then', 'elif', 'else', 'end', 'as', 'reduce', 'try', 'catch', 'and', 'or', 'not_kw', 'def', 'foreach', 'label', 'import', 'include']);
const OPS = ['?//', '|=', '+=', '-=', '*=', '/=', '//=', '==', '!=', '<=', '>=', '//', '..', 'and', '|', ',', '+', '-', '*', '/', '%', '<', '>', '=', '.', '[', ']', '(', ')', '{', '}', ':', ';', '?'];

function lex(src: string, depth = 0): { toks: Tok[]; end: number } {
  if (depth > 16) throw new JqError('string interpolation nested too deeply');
  const toks: Tok[] = [];
  let i = 0;
  let parens = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#') { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (depth > 0 && c === ')' && parens === 0) return { toks, end: i };
    if (c === '"') {
      const parts: (string | Tok[])[] = [];
      let cur = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new JqError('unterminated string literal');
        const d = src[i]!;
        if (d === '"') { i++; break; }
        if (d === '\\') {
          const n = src[i + 1];
          if (n === '(') {
            if (cur) parts.push(cur);
            cur = '';
            const inner = lex(src.slice(i + 2), depth + 1);
            parts.push(inner.toks);
            i += 2 + inner.end + 1;
            continue;
          }
          const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', '/': '/' };
          if (n === 'u') {
            const hex = src.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JqError('invalid \\u escape');
            cur += String.fromCharCode(parseInt(hex, 16));
            i += 6;
            continue;
          }
          if (n === undefined || !(n in esc)) throw new JqError(`invalid escape \\${n ?? ''}`);
          cur += esc[n];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      if (cur || parts.length === 0) parts.push(cur);
      toks.push({ k: 'str', parts });
      continue;
    }
    const num = /^(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)/.exec(src.slice(i, i + 64));
    if (num && !(c === '.' && toks.length && isValueEnd(toks[toks.length - 1]!))) {
      toks.push({ k: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
      if (!m) throw new JqError(`invalid variable at offset ${i}`);
      toks.push({ k: 'var', v: m[0].slice(1) });
      i += m[0].length;
      continue;
    }
    if (c === '@') {
      const m = /^@[A-Za-z0-9_]+/.exec(src.slice(i));
      if (!m) throw new JqError(`invalid format at offset ${i}`);
      toks.push({ k: 'fmt', v: m[0].slice(1) });
      i += m[0].length;
      continue;
    }
    if (c === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      const m = /^\.[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      toks.push({ k: 'field', v: m[0].slice(1) });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*/.exec(src.slice(i))!;
      toks.push({ k: KEYWORDS.has(m[0]) ? 'kw' : 'id', v: m[0] });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i) && !/[a-z]/.test(o));
    if (!op) throw new JqError(`unexpected character ${JSON.stringify(c)} at offset ${i}`);
    if (op === '(') parens++;
    if (op === ')') parens--;
    toks.push({ k: 'op', v: op });
    i += op.length;
  }
  if (depth > 0) throw new JqError('unterminated string interpolation');
  return { toks, end: i };
}

function isValueEnd(t: Tok): boolean {
  return t.k === 'num' || t.k === 'str' || t.k === 'id' || t.k === 'var' || t.k === 'field' || (t.k === 'op' && (t.v === ']' || t.v === ')' || t.v === '}'));
}

// ---------------------------------------------------------------------------- parser

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}
  private peek(): Tok | undefined {
    return this.toks[this.pos];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return !!t && t.k === 'op' && t.v === v;
  }
  private isKw(v: string): boolean {
    const t = this.peek();
    return !!t && t.k === 'kw' && t.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new JqError(`expected '${v}'${this.where()}`);
    this.pos++;
  }
  private expectKw(v: string): void {
    if (!this.isKw(v)) throw new JqError(`expected '${v}'${this.where()}`);
    this.pos++;
  }
  private where(): string {
    const t = this.peek();
    if (!t) return ' at end of program';
    return ` near ${t.k === 'str' ? 'string' : t.k === 'num' ? String(t.v) : (t as { v: string }).v}`;
  }
  done(): boolean {
    return this.pos >= this.toks.length;
  }
  fail(): never {
    throw new JqError(`syntax error${this.where()}`);
  }

  pipe(): Node {
    if (++this.depth > MAX_DEPTH) throw new JqError('program nested too deeply');
    try {
      if (this.isKw('def')) throw new JqError('def is not supported');
      const left = this.comma();
      if (this.isKw('as')) {
        this.pos++;
        const v = this.peek();
        if (v?.k !== 'var') throw new JqError(`expected $name after 'as'${this.where()}`);
        this.pos++;
        this.expectOp('|');
        return { t: 'as', src: left, name: v.v, body: this.pipe() };
      }
      if (this.isOp('|')) {
        this.pos++;
        return { t: 'pipe', left, right: this.pipe() };
      }
      return left;
    } finally {
      this.depth--;
    }
  }
  private comma(): Node {
    let left = this.alt();
    while (this.isOp(',')) {
      this.pos++;
      left = { t: 'comma', left, right: this.alt() };
    }
    return left;
  }
  private alt(): Node {
    const left = this.assign();
    if (this.isOp('//')) {
      this.pos++;
      return { t: 'alt', left, right: this.alt() };
    }
    return left;
  }
  private assign(): Node {
    const left = this.or();
    if (this.isOp('=') || this.isOp('|=')) {
      const op = (this.peek() as { v: '=' | '|=' }).v;
      this.pos++;
      return { t: 'assign', op, path: left, value: this.alt() };
    }
    for (const op of ['+=', '-=', '*=', '/=', '//=']) {
      if (this.isOp(op)) {
        this.pos++;
        const rhs = this.alt();
        const bop = op.slice(0, -1);
        return { t: 'as', src: rhs, name: '__rhs', body: { t: 'assign', op: '|=', path: left, value: bop === '//' ? { t: 'alt', left: { t: 'identity' }, right: { t: 'var', name: '__rhs' } } : { t: 'bin', op: bop, left: { t: 'identity' }, right: { t: 'var', name: '__rhs' } } } };
      }
    }
    return left;
  }
  private or(): Node {
    let left = this.and();
    while (this.isKw('or')) {
      this.pos++;
      left = { t: 'or', left, right: this.and() };
    }
    return left;
  }
  private and(): Node {
    let left = this.cmp();
    while (this.isKw('and')) {
      this.pos++;
      left = { t: 'and', left, right: this.cmp() };
    }
    return left;
  }
  private cmp(): Node {
    const left = this.add();
    for (const op of ['==', '!=', '<=', '>=', '<', '>']) {
      if (this.isOp(op)) {
        this.pos++;
        return { t: 'bin', op, left, right: this.add() };
      }
    }
    return left;
  }
  private add(): Node {
    let left = this.mul();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.toks[this.pos++] as { v: string }).v;
      left = { t: 'bin', op, left, right: this.mul() };
    }
    return left;
  }
  private mul(): Node {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.toks[this.pos++] as { v: string }).v;
      left = { t: 'bin', op, left, right: this.unary() };
    }
    return left;
  }
  private unary(): Node {
    if (this.isOp('-')) {
      this.pos++;
      return { t: 'neg', body: this.postfix() };
    }
    return this.postfix();
  }
  private postfix(): Node {
    let n = this.term();
    for (;;) {
      const t = this.peek();
      if (!t) return n;
      if (t.k === 'field') {
        this.pos++;
        n = { t: 'field', of: n, name: t.v, opt: this.optMark() };
      } else if (t.k === 'op' && t.v === '.' && this.toks[this.pos + 1]?.k === 'str') {
        this.pos++;
        const s = this.toks[this.pos++] as { k: 'str'; parts: (string | Tok[])[] };
        n = { t: 'index', of: n, idx: this.strNode(s, undefined), opt: this.optMark() };
      } else if (t.k === 'op' && (t.v === '[' || (t.v === '.' && this.toks[this.pos + 1]?.k === 'op' && (this.toks[this.pos + 1] as { v: string }).v === '['))) {
        if (t.v === '.') this.pos++;
        n = this.bracket(n);
      } else if (t.k === 'op' && t.v === '?') {
        this.pos++;
        n = { t: 'try', body: n, catch: undefined };
      } else if (t.k === 'kw' && t.v === 'as' ) return n;
      else return n;
    }
  }
  private optMark(): boolean {
    if (this.isOp('?')) {
      this.pos++;
      return true;
    }
    return false;
  }
  private bracket(of: Node): Node {
    this.expectOp('[');
    if (this.isOp(']')) {
      this.pos++;
      return { t: 'iterate', of, opt: this.optMark() };
    }
    if (this.isOp(':')) {
      this.pos++;
      const to = this.pipe();
      this.expectOp(']');
      return { t: 'slice', of, from: undefined, to, opt: this.optMark() };
    }
    const idx = this.pipe();
    if (this.isOp(':')) {
      this.pos++;
      const to = this.isOp(']') ? undefined : this.pipe();
      this.expectOp(']');
      return { t: 'slice', of, from: idx, to, opt: this.optMark() };
    }
    this.expectOp(']');
    return { t: 'index', of, idx, opt: this.optMark() };
  }
  private strNode(s: { parts: (string | Tok[])[] }, format: string | undefined): Node {
    if (s.parts.length === 1 && typeof s.parts[0] === 'string' && !format) return { t: 'lit', value: s.parts[0] };
    return {
      t: 'str',
      format,
      parts: s.parts.map((p) => {
        if (typeof p === 'string') return p;
        const sub = new Parser(p);
        sub.depth = this.depth;
        const n = sub.pipe();
        if (!sub.done()) sub.fail();
        return n;
      }),
    };
  }
  private term(): Node {
    const t = this.peek();
    if (!t) this.fail();
    this.pos++;
    switch (t.k) {
      case 'num':
        return { t: 'lit', value: t.v };
      case 'str':
        return this.strNode(t, undefined);
      case 'fmt': {
        const s = this.peek();
        if (s?.k === 'str') {
          this.pos++;
          return this.strNode(s, t.v);
        }
        return { t: 'format', name: t.v };
      }
      case 'field':
        return { t: 'field', of: { t: 'identity' }, name: t.v, opt: this.optMark() };
      case 'var':
        return { t: 'var', name: t.v };
      case 'op':
        switch (t.v) {
          case '.':
            if (this.peek()?.k === 'str') {
              const s = this.toks[this.pos++] as { k: 'str'; parts: (string | Tok[])[] };
              return { t: 'index', of: { t: 'identity' }, idx: this.strNode(s, undefined), opt: this.optMark() };
            }
            if (this.isOp('[')) return this.bracket({ t: 'identity' });
            return { t: 'identity' };
          case '..':
            return { t: 'recurse' };
          case '(': {
            const e = this.pipe();
            this.expectOp(')');
            return e;
          }
          case '[': {
            if (this.isOp(']')) {
              this.pos++;
              return { t: 'array', body: undefined };
            }
            const e = this.pipe();
            this.expectOp(']');
            return { t: 'array', body: e };
          }
          case '{':
            return this.object();
        }
        break;
      case 'kw':
        switch (t.v) {
          case 'if': {
            const cond = this.pipe();
            this.expectKw('then');
            const then = this.pipe();
            return { t: 'if', cond, then, else: this.ifRest() };
          }
          case 'try': {
            const body = this.postfix();
            let c: Node | undefined;
            if (this.isKw('catch')) {
              this.pos++;
              c = this.postfix();
            }
            return { t: 'try', body, catch: c };
          }
          case 'reduce': {
            const src = this.postfix();
            this.expectKw('as');
            const v = this.peek();
            if (v?.k !== 'var') this.fail();
            this.pos++;
            this.expectOp('(');
            const init = this.pipe();
            this.expectOp(';');
            const update = this.pipe();
            this.expectOp(')');
            return { t: 'reduce', src, name: v.v, init, update };
          }
        }
        break;
      case 'id': {
        if (t.v === 'true' || t.v === 'false') return { t: 'lit', value: t.v === 'true' };
        if (t.v === 'null') return { t: 'lit', value: null };
        const args: Node[] = [];
        if (this.isOp('(')) {
          this.pos++;
          args.push(this.pipe());
          while (this.isOp(';')) {
            this.pos++;
            args.push(this.pipe());
          }
          this.expectOp(')');
        }
        return { t: 'call', name: t.v, args };
      }
    }
    this.pos--;
    this.fail();
  }
  private ifRest(): Node | undefined {
    if (this.isKw('elif')) {
      this.pos++;
      const cond = this.pipe();
      this.expectKw('then');
      const then = this.pipe();
      return { t: 'if', cond, then, else: this.ifRest() };
    }
    if (this.isKw('else')) {
      this.pos++;
      const e = this.pipe();
      this.expectKw('end');
      return e;
    }
    this.expectKw('end');
    return undefined;
  }
  private object(): Node {
    const entries: { key: Node; value: Node | undefined }[] = [];
    while (!this.isOp('}')) {
      const t = this.peek();
      if (!t) this.fail();
      this.pos++;
      let key: Node;
      let value: Node | undefined;
      if (t.k === 'var') {
        key = { t: 'lit', value: t.v };
        value = { t: 'var', name: t.v };
      } else if (t.k === 'id' || t.k === 'kw') key = { t: 'lit', value: t.v };
      else if (t.k === 'str') key = this.strNode(t, undefined);
      else if (t.k === 'num') key = { t: 'lit', value: t.v };
      else if (t.k === 'op' && t.v === '(') {
        key = this.pipe();
        this.expectOp(')');
      } else this.fail();
      if (this.isOp(':')) {
        this.pos++;
        value = this.objVal();
      } else if (!value) value = undefined;
      entries.push({ key, value });
      if (this.isOp(',')) this.pos++;
      else if (!this.isOp('}')) this.fail();
    }
    this.pos++;
    return { t: 'object', entries };
  }
  private objVal(): Node {
    let left = this.alt();
    while (this.isOp('|')) {
      this.pos++;
      left = { t: 'pipe', left, right: this.alt() };
    }
    return left;
  }
}

/** Parses a jq program once; throws {@link JqError} on syntax errors. */
export function compileJq(source: string): JqProgram {
  if (typeof source !== 'string') throw new JqError('jq program must be a string');
  if (source.length > MAX_SOURCE) throw new JqError(`jq program longer than ${MAX_SOURCE} characters`);
  const p = new Parser(lex(source).toks);
  const ast = p.done() ? ({ t: 'identity' } as Node) : p.pipe();
  if (!p.done()) p.fail();
  return { source, ast };
}

// ---------------------------------------------------------------------------- evaluator

type Env = { name: string; value: unknown; up: Env | undefined } | undefined;

function typeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

function show(v: unknown): string {
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

const truthy = (v: unknown): boolean => v !== null && v !== undefined && v !== false;

class Evaluator {
  steps = 0;
  constructor(private readonly maxSteps: number, private readonly maxOutputs: number) {}

  step(n = 1): void {
    this.steps += n;
    if (this.steps > this.maxSteps) throw new JqError(`jq program exceeded ${this.maxSteps} steps`);
  }

  lookup(env: Env, name: string): unknown {
    for (let e = env; e; e = e.up) if (e.name === name) return e.value;
    throw new JqError(`$${name} is not defined`);
  }

  one(n: Node, input: unknown, env: Env, what: string): unknown {
    const out = this.eval(n, input, env, 0);
    if (out.length !== 1) throw new JqError(`${what} must produce exactly one value, got ${out.length}`);
    return out[0];
  }

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
        for (const v of this.eval(n.of, input, env, d)) for (const k of this.eval(n.idx, input, env, d)) out.push(...this.index(v, k, n.opt));
        return out;
      }
      case 'slice': {
        const out: unknown[] = [];
        for (const v of this.eval(n.of, input, env, d)) {
          const from = n.from ? this.one(n.from, input, env, 'slice start') : null;
          const to = n.to ? this.one(n.to, input, env, 'slice end') : null;
          if (v === null) { out.push(null); continue; }
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
            const vals = this.eval(p, input, env, d).map((v) => (n.format ? applyFormat(n.format, v) : typeof v === 'string' ? v : JSON.stringify(v)));
            acc = acc.flatMap((a) => vals.map((v) => a + v));
          }
        }
        return acc;
      }
      case 'format':
        return [applyFormat(n.name, input)];
      case 'array':
        return [n.body ? this.eval(n.body, input, env, d) : []];
      case 'object': {
        let objs: Record<string, unknown>[] = [{}];
        for (const e of n.entries) {
          const keys = this.eval(e.key, input, env, d);
          const next: Record<string, unknown>[] = [];
          for (const k of keys) {
            if (typeof k !== 'string') throw new JqError(`object keys must be strings, got ${typeOf(k)}`);
            const vals = e.value ? this.eval(e.value, input, env, d) : this.index(input, k, false);
            for (const o of objs) for (const v of vals) next.push({ ...o, [k]: v });
          }
          objs = next;
          if (objs.length > this.maxOutputs) throw new JqError('too many outputs');
        }
        return objs;
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
          if (typeof v !== 'number') throw new JqError(`${typeOf(v)} (${show(v)}) cannot be negated`);
          return -v;
        });
      case 'bin': {
        const out: unknown[] = [];
        for (const r of this.eval(n.right, input, env, d)) for (const l of this.eval(n.left, input, env, d)) out.push(binop(n.op, l, r, this));
        return out;
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
        for (const v of this.eval(n.src, input, env, d)) out.push(...this.eval(n.body, input, { name: n.name, value: v, up: env }, d));
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
          return this.eval(n.value, input, env, d).map((v) => paths.reduce((doc, p) => setIn(doc, p, v, 0), input));
        }
        let doc = input;
        for (const p of paths) {
          const cur = getIn(doc, p);
          const nv = this.eval(n.value, cur, env, d);
          doc = nv.length ? setIn(doc, p, nv[0], 0) : doc;
        }
        return [doc];
      }
      case 'call':
        return callBuiltin(this, n.name, n.args, input, env, d);
    }
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
    throw new JqError(`cannot index ${typeOf(v)} with ${typeof k === 'string' ? `"${k}"` : typeOf(k)}`);
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
            if (typeof k !== 'string' && typeof k !== 'number') throw new JqError(`invalid path component ${show(k)}`);
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
        return this.paths(n.left, input, env, d).flatMap((p) => this.paths(n.right, getIn(input, p), env, d).map((q) => [...p, ...q]));
      case 'comma':
        return [...this.paths(n.left, input, env, d), ...this.paths(n.right, input, env, d)];
      case 'call':
        if (n.name === 'select' && n.args.length === 1) return this.eval(n.args[0]!, input, env, d).some(truthy) ? [[]] : [];
        if (n.name === 'empty') return [];
        break;
    }
    throw new JqError('invalid path expression on the left of an assignment');
  }
}

function getIn(doc: unknown, path: readonly (string | number)[]): unknown {
  let cur = doc;
  for (const k of path) {
    if (cur === null || cur === undefined) return null;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur === undefined ? null : cur;
}

function setIn(doc: unknown, path: readonly (string | number)[], v: unknown, i: number): unknown {
  if (i === path.length) return v;
  const k = path[i]!;
  if (typeof k === 'number') {
    if (doc !== null && doc !== undefined && !Array.isArray(doc)) throw new JqError(`cannot index ${typeOf(doc)} with number`);
    if (k > 1_000_000) throw new JqError('array index too large');
    const arr = Array.isArray(doc) ? doc.slice() : [];
    const idx = k < 0 ? arr.length + k : k;
    if (idx < 0) throw new JqError('out of bounds negative array index');
    while (arr.length < idx) arr.push(null);
    arr[idx] = setIn(arr[idx], path, v, i + 1);
    return arr;
  }
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) throw new JqError(`cannot index ${typeOf(doc)} with "${k}"`);
  const o = { ...((doc ?? {}) as Record<string, unknown>) };
  o[k] = setIn(o[k], path, v, i + 1);
  return o;
}

function binop(op: string, l: unknown, r: unknown, ev: Evaluator): unknown {
  switch (op) {
    case '==': return jqCompare(l, r) === 0;
    case '!=': return jqCompare(l, r) !== 0;
    case '<': return jqCompare(l, r) < 0;
    case '<=': return jqCompare(l, r) <= 0;
    case '>': return jqCompare(l, r) > 0;
    case '>=': return jqCompare(l, r) >= 0;
  }
  const err = (): never => {
    throw new JqError(`${typeOf(l)} (${show(l)}) and ${typeOf(r)} (${show(r)}) cannot be ${{ '+': 'added', '-': 'subtracted', '*': 'multiplied', '/': 'divided', '%': 'divided' }[op] ?? 'combined'}`);
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
    if (typeOf(l) === 'object' && typeOf(r) === 'object') return { ...(l as object), ...(r as object) };
    return err();
  }
  if (op === '-') {
    if (typeof l === 'number' && typeof r === 'number') return l - r;
    if (Array.isArray(l) && Array.isArray(r)) return l.filter((x) => !r.some((y) => jqCompare(x, y) === 0));
    return err();
  }
  if (op === '*') {
    if (typeof l === 'number' && typeof r === 'number') return l * r;
    if (typeof l === 'string' && typeof r === 'number') {
      if (r <= 0) return null;
      ev.step(Math.ceil((l.length * r) / 4096));
      if (l.length * r > 16 * 1024 * 1024) throw new JqError('string repetition too large');
      return l.repeat(Math.ceil(r));
    }
    if (typeOf(l) === 'object' && typeOf(r) === 'object') return deepMerge(l as Record<string, unknown>, r as Record<string, unknown>, 0);
    return err();
  }
  if (op === '/') {
    if (typeof l === 'number' && typeof r === 'number') {
      if (r === 0) throw new JqError(`${show(l)} and ${show(r)} cannot be divided because the divisor is zero`);
      return l / r;
    }
    if (typeof l === 'string' && typeof r === 'string') return l.split(r);
    return err();
  }
  if (op === '%') {
    if (typeof l === 'number' && typeof r === 'number') {
      const ri = Math.trunc(r);
      if (ri === 0) throw new JqError(`${show(l)} and ${show(r)} cannot be divided because the divisor is zero`);
      return Math.trunc(l) % Math.abs(ri);
    }
    return err();
  }
  return err();
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>, depth: number): Record<string, unknown> {
  if (depth > 256) throw new JqError('object merge too deep');
  const o = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = o[k];
    o[k] = typeOf(cur) === 'object' && typeOf(v) === 'object' ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>, depth + 1) : v;
  }
  return o;
}

function applyFormat(name: string, v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  switch (name) {
    case 'text': return s;
    case 'json': return JSON.stringify(v);
    case 'base64': return Buffer.from(s, 'utf8').toString('base64');
    case 'base64d': return Buffer.from(s, 'base64').toString('utf8');
    case 'uri': return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
    case 'html': return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[c]!);
    case 'sh': return `'${s.replace(/'/g, "'\\''")}'`;
    case 'csv':
    case 'tsv': {
      if (!Array.isArray(v)) throw new JqError(`${typeOf(v)} cannot be ${name}-formatted, only an array can be`);
      return v.map((x) => (typeof x === 'string' ? (name === 'csv' ? `"${x.replace(/"/g, '""')}"` : x.replace(/\t/g, '\\t')) : JSON.stringify(x))).join(name === 'csv' ? ',' : '\t');
    }
  }
  throw new JqError(`${name} is not a valid format`);
}

function keysOf(v: unknown, sorted: boolean): unknown[] {
  if (Array.isArray(v)) return v.map((_x, i) => i);
  if (typeOf(v) === 'object') {
    const k = Object.keys(v as object);
    return sorted ? k.sort() : k;
  }
  throw new JqError(`${typeOf(v)} (${show(v)}) has no keys`);
}

function lengthOf(v: unknown): unknown {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') throw new JqError(`boolean (${v}) has no length`);
  if (typeof v === 'number') return Math.abs(v);
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  return Object.keys(v).length;
}

/** Builtin names supported (arity in parentheses where it takes arguments). */
export const BUILTINS = [
  'empty', 'error', 'error/1', 'not', 'length', 'utf8bytelength', 'keys', 'keys_unsorted', 'values', 'has/1', 'in/1', 'map/1', 'map_values/1',
  'select/1', 'recurse', 'type', 'add', 'any', 'all', 'any/1', 'all/1', 'flatten', 'flatten/1', 'range/1', 'range/2', 'floor', 'ceil', 'round', 'sqrt', 'fabs',
  'tostring', 'tonumber', 'tojson', 'fromjson', 'ascii_downcase', 'ascii_upcase', 'ltrimstr/1', 'rtrimstr/1', 'startswith/1', 'endswith/1',
  'split/1', 'join/1', 'test/1', 'test/2', 'contains/1', 'inside/1', 'to_entries', 'from_entries', 'with_entries/1', 'sort', 'sort_by/1', 'group_by/1',
  'unique', 'unique_by/1', 'min', 'max', 'min_by/1', 'max_by/1', 'reverse', 'first', 'last', 'first/1', 'last/1', 'limit/2', 'nth/1', 'indices/1',
  'del/1', 'to_array', 'arrays', 'objects', 'strings', 'numbers', 'booleans', 'nulls', 'scalars', 'iterables', 'isempty/1', 'ascii', 'tostream',
  'splits/1', 'sub/2', 'gsub/2', 'trim', 'ltrim', 'rtrim', 'abs', 'getpath/1', 'paths', 'env', 'input_line_number', 'halt_error', 'not',
] as const;

function callBuiltin(ev: Evaluator, name: string, args: Node[], input: unknown, env: Env, d: number): unknown[] {
  const arg = (i: number): unknown[] => ev.eval(args[i]!, input, env, d);
  const single = (i: number, what: string): unknown => ev.one(args[i]!, input, env, what);
  const str = (v: unknown, fn: string): string => {
    if (typeof v !== 'string') throw new JqError(`${typeOf(v)} (${show(v)}) cannot be used with ${fn}, as it is not a string`);
    return v;
  };
  const arr = (v: unknown, fn: string): unknown[] => {
    if (!Array.isArray(v)) throw new JqError(`${typeOf(v)} (${show(v)}) cannot be used with ${fn}, as it is not an array`);
    return v;
  };
  const key = `${name}/${args.length}`;
  switch (args.length === 0 ? name : key) {
    case 'empty': return [];
    case 'error': throw new JqError(typeof input === 'string' ? input : `${show(input)} (not a string)`);
    case 'error/1': throw new JqError(String(single(0, 'error message')));
    case 'not': return [!truthy(input)];
    case 'length': return [lengthOf(input)];
    case 'utf8bytelength': return [Buffer.byteLength(str(input, 'utf8bytelength'))];
    case 'keys': return [keysOf(input, true)];
    case 'keys_unsorted': return [keysOf(input, false)];
    case 'values': return truthy(input) ? [input] : [];
    case 'has/1': return arg(0).map((k) => {
      if (Array.isArray(input) && typeof k === 'number') return k >= 0 && k < input.length;
      if (typeOf(input) === 'object' && typeof k === 'string') return Object.prototype.hasOwnProperty.call(input, k);
      throw new JqError(`cannot check whether ${typeOf(input)} has a ${typeOf(k)} key`);
    });
    case 'in/1': return arg(0).map((o) => callBuiltin(ev, 'has', [{ t: 'lit', value: input }], o, env, d)[0]);
    case 'map/1': {
      const items = Array.isArray(input) ? input : typeOf(input) === 'object' ? Object.values(input as object) : (() => { throw new JqError(`cannot iterate over ${typeOf(input)}`); })();
      return [items.flatMap((x) => ev.eval(args[0]!, x, env, d))];
    }
    case 'map_values/1': {
      if (Array.isArray(input)) return [input.flatMap((x) => ev.eval(args[0]!, x, env, d).slice(0, 1))];
      if (typeOf(input) !== 'object') throw new JqError(`cannot iterate over ${typeOf(input)}`);
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(input as object)) {
        const r = ev.eval(args[0]!, v, env, d);
        if (r.length) o[k] = r[0];
      }
      return [o];
    }
    case 'select/1': return arg(0).filter(truthy).map(() => input);
    case 'recurse': return ev.eval({ t: 'recurse' }, input, env, d);
    case 'type': return [typeOf(input)];
    case 'add': {
      const items = Array.isArray(input) ? input : typeOf(input) === 'object' ? Object.values(input as object) : input === null ? [] : arr(input, 'add');
      return [items.reduce((acc: unknown, x) => (acc === undefined ? x : binop('+', acc, x, ev)), undefined) ?? null];
    }
    case 'any': return [arr(input, 'any').some(truthy)];
    case 'all': return [arr(input, 'all').every(truthy)];
    case 'any/1': return [arr(input, 'any').some((x) => ev.eval(args[0]!, x, env, d).some(truthy))];
    case 'all/1': return [arr(input, 'all').every((x) => ev.eval(args[0]!, x, env, d).every(truthy))];
    case 'flatten':
    case 'flatten/1': {
      const depth = args.length ? Number(single(0, 'flatten depth')) : 1e9;
      if (depth < 0) throw new JqError('flatten depth must not be negative');
      const flat = (a: unknown[], dd: number): unknown[] => a.flatMap((x) => (Array.isArray(x) && dd > 0 ? (ev.step(), flat(x, dd - 1)) : [x]));
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
    case 'floor': return [Math.floor(num(input, 'floor'))];
    case 'ceil': return [Math.ceil(num(input, 'ceil'))];
    case 'round': return [Math.round(num(input, 'round'))];
    case 'sqrt': return [Math.sqrt(num(input, 'sqrt'))];
    case 'fabs':
    case 'abs': return [Math.abs(num(input, name))];
    case 'tostring': return [typeof input === 'string' ? input : JSON.stringify(input)];
    case 'tonumber': {
      if (typeof input === 'number') return [input];
      const s = str(input, 'tonumber').trim();
      const f = Number(s);
      if (s === '' || !Number.isFinite(f)) throw new JqError(`cannot parse '${s}' as a number`);
      return [f];
    }
    case 'tojson': return [JSON.stringify(input)];
    case 'fromjson':
      try {
        return [JSON.parse(str(input, 'fromjson')) as unknown];
      } catch (e) {
        throw new JqError(`${show(input)} cannot be parsed as JSON: ${e instanceof Error ? e.message : String(e)}`);
      }
    case 'ascii_downcase': return [str(input, 'ascii_downcase').replace(/[A-Z]/g, (c) => c.toLowerCase())];
    case 'ascii_upcase': return [str(input, 'ascii_upcase').replace(/[a-z]/g, (c) => c.toUpperCase())];
    case 'trim': return [str(input, 'trim').trim()];
    case 'ltrim': return [str(input, 'ltrim').trimStart()];
    case 'rtrim': return [str(input, 'rtrim').trimEnd()];
    case 'ltrimstr/1': return arg(0).map((p) => (typeof input === 'string' && typeof p === 'string' && input.startsWith(p) ? input.slice(p.length) : input));
    case 'rtrimstr/1': return arg(0).map((p) => (typeof input === 'string' && typeof p === 'string' && p && input.endsWith(p) ? input.slice(0, input.length - p.length) : input));
    case 'startswith/1': return arg(0).map((p) => str(input, 'startswith').startsWith(str(p, 'startswith')));
    case 'endswith/1': return arg(0).map((p) => str(input, 'endswith').endsWith(str(p, 'endswith')));
    case 'split/1': return arg(0).map((sep) => str(input, 'split').split(str(sep, 'split')));
    case 'join/1': return arg(0).map((sep) => arr(input, 'join').map((x) => (x === null ? '' : typeof x === 'object' ? (() => { throw new JqError(`cannot join with ${typeOf(x)}`); })() : String(x))).join(str(sep, 'join')));
    case 'test/1':
    case 'test/2': return arg(0).map((re) => regexTest(str(input, 'test'), str(re, 'test'), args.length === 2 ? String(single(1, 'regex flags') ?? '') : ''));
    case 'sub/2':
    case 'gsub/2': return arg(0).map((re) => {
      const repl = single(1, `${name} replacement`);
      return regexReplace(str(input, name), str(re, name), str(repl, name), name === 'gsub');
    });
    case 'contains/1': return arg(0).map((b) => contains(input, b));
    case 'inside/1': return arg(0).map((b) => contains(b, input));
    case 'to_entries': {
      if (typeOf(input) !== 'object') throw new JqError(`${typeOf(input)} (${show(input)}) has no keys`);
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
    case 'sort': ev.step(arr(input, 'sort').length); return [[...(input as unknown[])].sort(jqCompare)];
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
    case 'min': { const s = [...arr(input, 'min')].sort(jqCompare); return [s[0] ?? null]; }
    case 'max': { const s = [...arr(input, 'max')].sort(jqCompare); return [s[s.length - 1] ?? null]; }
    case 'reverse': return [typeof input === 'string' ? [...input].reverse().join('') : input === null ? [] : [...arr(input, 'reverse')].reverse()];
    case 'first': return [Array.isArray(input) ? input[0] ?? null : ev.index(input, 0, false)[0]];
    case 'last': return [Array.isArray(input) ? input[input.length - 1] ?? null : ev.index(input, -1, false)[0]];
    case 'first/1': return arg(0).slice(0, 1);
    case 'last/1': return arg(0).slice(-1);
    case 'limit/2': { const n = Number(single(0, 'limit')); return n <= 0 ? [] : arg(1).slice(0, n); }
    case 'nth/1': return arg(0).map((n) => (Array.isArray(input) ? input[Number(n)] ?? null : null));
    case 'isempty/1': return [arg(0).length === 0];
    case 'indices/1': return arg(0).map((s) => {
      if (typeof input === 'string' && typeof s === 'string' && s) {
        const out: number[] = [];
        for (let i = input.indexOf(s); i >= 0; i = input.indexOf(s, i + 1)) out.push(i);
        return out;
      }
      if (Array.isArray(input)) return input.map((x, i) => (jqCompare(x, s) === 0 ? i : -1)).filter((i) => i >= 0);
      return null;
    });
    case 'del/1': {
      const paths = ev.paths(args[0]!, input, env, d).sort((a, b) => jqCompare(b, a));
      let doc = input;
      for (const p of paths) doc = deleteIn(doc, p, 0);
      return [doc];
    }
    case 'getpath/1': return arg(0).map((p) => getIn(input, arr(p, 'getpath') as (string | number)[]));
    case 'arrays': return Array.isArray(input) ? [input] : [];
    case 'objects': return typeOf(input) === 'object' ? [input] : [];
    case 'strings': return typeof input === 'string' ? [input] : [];
    case 'numbers': return typeof input === 'number' ? [input] : [];
    case 'booleans': return typeof input === 'boolean' ? [input] : [];
    case 'nulls': return input === null ? [input] : [];
    case 'scalars': return typeOf(input) !== 'object' && !Array.isArray(input) ? [input] : [];
    case 'iterables': return typeOf(input) === 'object' || Array.isArray(input) ? [input] : [];
    case 'to_array': return [Array.isArray(input) ? input : [input]];
  }
  throw new JqError(`${name}/${args.length} is not defined`);
}

function num(v: unknown, fn: string): number {
  if (typeof v !== 'number') throw new JqError(`${typeOf(v)} (${show(v)}) number required for ${fn}`);
  return v;
}

function contains(a: unknown, b: unknown): boolean {
  if (typeOf(a) !== typeOf(b)) throw new JqError(`${typeOf(a)} (${show(a)}) and ${typeOf(b)} (${show(b)}) cannot have their containment checked`);
  if (typeof a === 'string') return a.includes(b as string);
  if (Array.isArray(a)) return (b as unknown[]).every((y) => a.some((x) => typeOf(x) === typeOf(y) && contains(x, y)));
  if (typeOf(a) === 'object') return Object.entries(b as object).every(([k, v]) => Object.prototype.hasOwnProperty.call(a, k) && typeOf((a as Record<string, unknown>)[k]) === typeOf(v) && contains((a as Record<string, unknown>)[k], v));
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

function compileRe(re: string, flags: string): RE2JS {
  let f = 0;
  if (flags.includes('i')) f |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('s')) f |= RE2JS.DOTALL;
  if (flags.includes('x')) throw new JqError('regex flag x is not supported');
  try {
    return RE2JS.compile(re, f);
  } catch (e) {
    throw new JqError(`${re} (at offset 0) is not a valid regex: ${e instanceof Error ? e.message : String(e)}`);
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

/** Runs a compiled program on `input`; returns all outputs. Throws {@link JqError}. */
export function runJq(program: JqProgram, input: unknown, limits: JqLimits = {}): unknown[] {
  const ev = new Evaluator(limits.maxSteps ?? 1_000_000, limits.maxOutputs ?? 10_000);
  try {
    return ev.eval(program.ast, input, undefined, 0);
  } catch (e) {
    if (e instanceof JqError) throw e;
    if (e instanceof RangeError) throw new JqError(`jq program exceeded a resource limit: ${e.message}`);
    throw new JqError(e instanceof Error ? e.message : String(e));
  }
}
