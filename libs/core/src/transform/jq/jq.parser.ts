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
 * on simple paths, and the builtins of `callBuiltin` (`jq.builtins.ts`).
 */
import { JqError, MAX_DEPTH, type JqProgram, type Node } from './jq.ast.js';

const MAX_SOURCE = 64 * 1024;

// ---------------------------------------------------------------------------- lexer

type Tok =
  | { k: 'num'; v: number }
  | { k: 'str'; parts: (string | Tok[])[] }
  | { k: 'id' | 'var' | 'field' | 'fmt' | 'op' | 'kw'; v: string };
const KEYWORDS = new Set([
  'if',
  'then',
  'elif',
  'else',
  'end',
  'as',
  'reduce',
  'try',
  'catch',
  'and',
  'or',
  'not_kw',
  'def',
  'foreach',
  'label',
  'import',
  'include',
]);
const OPS = [
  '?//',
  '|=',
  '+=',
  '-=',
  '*=',
  '/=',
  '//=',
  '==',
  '!=',
  '<=',
  '>=',
  '//',
  '..',
  'and',
  '|',
  ',',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '=',
  '.',
  '[',
  ']',
  '(',
  ')',
  '{',
  '}',
  ':',
  ';',
  '?',
];

function lex(src: string, depth = 0): { toks: Tok[]; end: number } {
  if (depth > 16) throw new JqError('string interpolation nested too deeply');
  const toks: Tok[] = [];
  let i = 0;
  let parens = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (depth > 0 && c === ')' && parens === 0) return { toks, end: i };
    if (c === '"') {
      const parts: (string | Tok[])[] = [];
      let cur = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new JqError('unterminated string literal');
        const d = src[i]!;
        if (d === '"') {
          i++;
          break;
        }
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
          const esc: Record<string, string> = {
            n: '\n',
            t: '\t',
            r: '\r',
            b: '\b',
            f: '\f',
            '"': '"',
            '\\': '\\',
            '/': '/',
          };
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
  return (
    t.k === 'num' ||
    t.k === 'str' ||
    t.k === 'id' ||
    t.k === 'var' ||
    t.k === 'field' ||
    (t.k === 'op' && (t.v === ']' || t.v === ')' || t.v === '}'))
  );
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
        return {
          t: 'as',
          src: rhs,
          name: '__rhs',
          body: {
            t: 'assign',
            op: '|=',
            path: left,
            value:
              bop === '//'
                ? { t: 'alt', left: { t: 'identity' }, right: { t: 'var', name: '__rhs' } }
                : {
                    t: 'bin',
                    op: bop,
                    left: { t: 'identity' },
                    right: { t: 'var', name: '__rhs' },
                  },
          },
        };
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
      } else if (
        t.k === 'op' &&
        (t.v === '[' ||
          (t.v === '.' &&
            this.toks[this.pos + 1]?.k === 'op' &&
            (this.toks[this.pos + 1] as { v: string }).v === '['))
      ) {
        if (t.v === '.') this.pos++;
        n = this.bracket(n);
      } else if (t.k === 'op' && t.v === '?') {
        this.pos++;
        n = { t: 'try', body: n, catch: undefined };
      } else if (t.k === 'kw' && t.v === 'as') return n;
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
    if (s.parts.length === 1 && typeof s.parts[0] === 'string' && !format)
      return { t: 'lit', value: s.parts[0] };
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
              return {
                t: 'index',
                of: { t: 'identity' },
                idx: this.strNode(s, undefined),
                opt: this.optMark(),
              };
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
  if (source.length > MAX_SOURCE)
    throw new JqError(`jq program longer than ${MAX_SOURCE} characters`);
  const p = new Parser(lex(source).toks);
  const ast = p.done() ? ({ t: 'identity' } as Node) : p.pipe();
  if (!p.done()) p.fail();
  return { source, ast };
}
