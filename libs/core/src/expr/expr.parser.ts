/**
 * Lexer and Pratt parser for the expr language subset (operator table as in expr's
 * `parser/operator`): `or ||` 10, `and &&` 15, comparisons / `in` / `matches` / `contains` /
 * `startsWith` / `endsWith` (each also as `not <op>`) 20, `..` 25, `+ -` 30, `* / %` 60,
 * `** ^` 100 (right-assoc), `??` 500; unary `not !` 50, `- +` 90; ternary `?:` lowest.
 * Postfix: `.name`, `?.name`, `[index]`, `[from:to]`, calls `f(...)`.
 */
import { ExprSyntaxError, type BinaryOp, type ExprNode, type UnaryOp } from './expr.ast.js';

type TokKind = 'int' | 'float' | 'string' | 'ident' | 'op' | 'eof';
interface Tok {
  k: TokKind;
  v: string;
  pos: number;
  int?: bigint;
  num?: number;
}

const MAX_EXPR_LENGTH = 64 * 1024;
const MAX_DEPTH = 150;
const PUNCT = [
  '?.',
  '??',
  '**',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '..',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '.',
  '?',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '<',
  '>',
  '!',
  '|',
];
const WORD_OPS = new Set([
  'and',
  'or',
  'not',
  'in',
  'matches',
  'contains',
  'startsWith',
  'endsWith',
]);

function readString(src: string, start: number): [string, number] {
  const q = src[start]!;
  let i = start + 1;
  if (q === '`') {
    const end = src.indexOf('`', i);
    if (end < 0) throw new ExprSyntaxError('unterminated raw string', start);
    return [src.slice(i, end), end + 1];
  }
  let s = '';
  for (;;) {
    if (i >= src.length || src[i] === '\n')
      throw new ExprSyntaxError('literal not terminated', start);
    const c = src[i]!;
    if (c === q) return [s, i + 1];
    if (c !== '\\') {
      s += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      '\\': '\\',
      '"': '"',
      "'": "'",
      '`': '`',
    };
    if (e !== undefined && simple[e] !== undefined) {
      s += simple[e];
      i += 2;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = src.slice(i + 2, i + 2 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex))
        throw new ExprSyntaxError('invalid escape sequence', i);
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff)
        throw new ExprSyntaxError('escape sequence is invalid Unicode code point', i);
      s += String.fromCodePoint(cp);
      i += 2 + hexLen;
      continue;
    }
    throw new ExprSyntaxError(`invalid char escape ${JSON.stringify('\\' + (e ?? ''))}`, i);
  }
}

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'" || c === '`') {
      const [s, end] = readString(src, i);
      out.push({ k: 'string', v: s, pos: start });
      i = end;
    } else if (
      /[0-9]/.test(c) ||
      (c === '.' && /[0-9]/.test(src[i + 1] ?? '') && out.at(-1)?.k !== 'ident')
    ) {
      const rest = src.slice(i);
      const radix = /^0[xX][0-9a-fA-F_]+|^0[oO][0-7_]+|^0[bB][01_]+/.exec(rest);
      if (radix) {
        const text = radix[0].replace(/_/g, '');
        if (text.length === 2)
          throw new ExprSyntaxError(
            `invalid number ${JSON.stringify(radix[0])}: no digits after the prefix`,
            start,
          );
        out.push({
          k: 'int',
          v: radix[0],
          int: BigInt.asIntN(64, BigInt(text.toLowerCase())),
          pos: start,
        });
        i += radix[0].length;
      } else {
        // A `..` after an integer is the range operator, not a decimal point.
        const m = /^[0-9_]*(?:\.(?!\.)[0-9_]*)?(?:[eE][+-]?[0-9_]+)?/.exec(rest)!;
        const text = m[0];
        const clean = text.replace(/_/g, '');
        if (/[.eE]/.test(clean)) {
          const n = Number(clean.endsWith('.') ? clean + '0' : clean);
          if (Number.isNaN(n))
            throw new ExprSyntaxError(`invalid float literal ${JSON.stringify(text)}`, start);
          out.push({ k: 'float', v: text, num: n, pos: start });
        } else {
          if (clean === '')
            throw new ExprSyntaxError(`invalid number ${JSON.stringify(text)}`, start);
          const big = BigInt(clean);
          if (big > 9223372036854775807n)
            throw new ExprSyntaxError(`integer literal ${text} overflows int64`, start);
          out.push({ k: 'int', v: text, int: big, pos: start });
        }
        i += text.length;
      }
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z0-9_$]+/.exec(src.slice(i))!;
      out.push({ k: WORD_OPS.has(m[0]) ? 'op' : 'ident', v: m[0], pos: start });
      i += m[0].length;
    } else {
      const op = PUNCT.find((p) => src.startsWith(p, i));
      if (op === undefined)
        throw new ExprSyntaxError(`unrecognized character ${JSON.stringify(c)}`, start);
      out.push({ k: 'op', v: op, pos: start });
      i += op.length;
    }
  }
  out.push({ k: 'eof', v: '', pos: src.length });
  return out;
}

const BINARY: Record<string, { prec: number; op: BinaryOp; right?: boolean }> = {
  or: { prec: 10, op: 'or' },
  '||': { prec: 10, op: 'or' },
  and: { prec: 15, op: 'and' },
  '&&': { prec: 15, op: 'and' },
  '==': { prec: 20, op: '==' },
  '!=': { prec: 20, op: '!=' },
  '<': { prec: 20, op: '<' },
  '>': { prec: 20, op: '>' },
  '<=': { prec: 20, op: '<=' },
  '>=': { prec: 20, op: '>=' },
  in: { prec: 20, op: 'in' },
  matches: { prec: 20, op: 'matches' },
  contains: { prec: 20, op: 'contains' },
  startsWith: { prec: 20, op: 'startsWith' },
  endsWith: { prec: 20, op: 'endsWith' },
  '..': { prec: 25, op: '..' },
  '+': { prec: 30, op: '+' },
  '-': { prec: 30, op: '-' },
  '*': { prec: 60, op: '*' },
  '/': { prec: 60, op: '/' },
  '%': { prec: 60, op: '%' },
  '**': { prec: 100, op: '**', right: true },
  '^': { prec: 100, op: '**', right: true },
  '??': { prec: 500, op: '??' },
};
const UNARY: Record<string, { prec: number; op: UnaryOp }> = {
  not: { prec: 50, op: 'not' },
  '!': { prec: 50, op: 'not' },
  '-': { prec: 90, op: '-' },
  '+': { prec: 90, op: '+' },
};
const NEGATABLE = new Set(['in', 'matches', 'contains', 'startsWith', 'endsWith']);

/** Parses an expr source into an AST; throws {@link ExprSyntaxError}. */
export function parseExpr(src: string): ExprNode {
  if (typeof src !== 'string') throw new ExprSyntaxError('expression must be a string', 0);
  if (src.length > MAX_EXPR_LENGTH)
    throw new ExprSyntaxError(`expression longer than ${MAX_EXPR_LENGTH} characters`, 0);
  const toks = lex(src);
  let p = 0;
  let depth = 0;
  const peek = (o = 0): Tok => toks[Math.min(p + o, toks.length - 1)]!;
  const desc = (t: Tok): string =>
    t.k === 'eof' ? 'end of expression' : `token ${JSON.stringify(t.v)}`;
  const isOp = (v: string, o = 0): boolean => peek(o).k === 'op' && peek(o).v === v;
  const expect = (v: string): Tok => {
    const t = peek();
    if (t.k !== 'op' || t.v !== v)
      throw new ExprSyntaxError(`expected ${JSON.stringify(v)} but found ${desc(t)}`, t.pos);
    p++;
    return t;
  };
  const enter = (): void => {
    if (++depth > MAX_DEPTH) throw new ExprSyntaxError('expression nested too deeply', peek().pos);
  };

  const expression = (minPrec: number): ExprNode => {
    enter();
    let left: ExprNode;
    const t = peek();
    const u = t.k === 'op' ? UNARY[t.v] : undefined;
    if (u) {
      p++;
      left = { kind: 'unary', op: u.op, operand: expression(u.prec), pos: t.pos };
    } else left = postfix(primary());
    for (;;) {
      const opTok = peek();
      if (opTok.k !== 'op') break;
      let negate = false;
      let key = opTok.v;
      if (key === 'not' && peek(1).k === 'op' && NEGATABLE.has(peek(1).v)) {
        negate = true;
        key = peek(1).v;
      }
      const b = BINARY[key];
      if (!b || b.prec < minPrec) break;
      p += negate ? 2 : 1;
      const right = expression(b.right ? b.prec : b.prec + 1);
      left = { kind: 'binary', op: b.op, negate, left, right, pos: opTok.pos };
    }
    if (minPrec === 0 && isOp('?')) {
      const q = peek();
      p++;
      if (isOp(':')) {
        p++;
        const otherwise = expression(0);
        left = { kind: 'binary', op: '??', negate: false, left, right: otherwise, pos: q.pos };
      } else {
        const then = expression(0);
        expect(':');
        const otherwise = expression(0);
        left = { kind: 'conditional', test: left, then, otherwise, pos: q.pos };
      }
    }
    depth--;
    return left;
  };

  const list = (close: string): ExprNode[] => {
    const items: ExprNode[] = [];
    while (!isOp(close)) {
      items.push(expression(0));
      if (!isOp(close)) expect(',');
    }
    p++;
    return items;
  };

  const primary = (): ExprNode => {
    const t = peek();
    p++;
    switch (t.k) {
      case 'int':
        return { kind: 'literal', value: t.int!, pos: t.pos };
      case 'float':
        return { kind: 'literal', value: t.num!, pos: t.pos };
      case 'string':
        return { kind: 'literal', value: t.v, pos: t.pos };
      case 'ident':
        if (t.v === 'true' || t.v === 'false')
          return { kind: 'literal', value: t.v === 'true', pos: t.pos };
        if (t.v === 'nil') return { kind: 'literal', value: null, pos: t.pos };
        return { kind: 'ident', name: t.v, pos: t.pos };
      case 'op':
        if (t.v === '(') {
          enter();
          const inner = expression(0);
          expect(')');
          depth--;
          return inner;
        }
        if (t.v === '[') {
          enter();
          const items = list(']');
          depth--;
          return { kind: 'array', items, pos: t.pos };
        }
        if (t.v === '{') {
          enter();
          const entries: Array<[string, ExprNode]> = [];
          while (!isOp('}')) {
            const k = peek();
            let key: string;
            if (k.k === 'ident' || k.k === 'string') key = k.v;
            else if (k.k === 'int') key = String(k.int);
            else
              throw new ExprSyntaxError(
                `a map key must be a quoted string or identifier, found ${desc(k)}`,
                k.pos,
              );
            p++;
            expect(':');
            entries.push([key, expression(0)]);
            if (!isOp('}')) expect(',');
          }
          p++;
          depth--;
          return { kind: 'map', entries, pos: t.pos };
        }
        break;
      default:
        break;
    }
    throw new ExprSyntaxError(`unexpected ${desc(t)}`, t.pos);
  };

  const postfix = (node: ExprNode): ExprNode => {
    for (;;) {
      const t = peek();
      if (t.k !== 'op') return node;
      if (t.v === '.' || t.v === '?.') {
        p++;
        const name = peek();
        if (name.k !== 'ident' && !(name.k === 'op' && WORD_OPS.has(name.v)))
          throw new ExprSyntaxError(
            `expected a property name after ${JSON.stringify(t.v)} but found ${desc(name)}`,
            name.pos,
          );
        p++;
        node = {
          kind: 'member',
          object: node,
          property: { kind: 'literal', value: name.v, pos: name.pos },
          optional: t.v === '?.',
          pos: t.pos,
        };
      } else if (t.v === '[') {
        p++;
        enter();
        if (isOp(':')) {
          p++;
          const to = isOp(']') ? undefined : expression(0);
          expect(']');
          node = { kind: 'slice', object: node, ...(to ? { to } : {}), pos: t.pos };
        } else {
          const index = expression(0);
          if (isOp(':')) {
            p++;
            const to = isOp(']') ? undefined : expression(0);
            expect(']');
            node = { kind: 'slice', object: node, from: index, ...(to ? { to } : {}), pos: t.pos };
          } else {
            expect(']');
            node = { kind: 'member', object: node, property: index, optional: false, pos: t.pos };
          }
        }
        depth--;
      } else if (t.v === '(' && (node.kind === 'ident' || node.kind === 'member')) {
        p++;
        enter();
        const args = list(')');
        depth--;
        node = { kind: 'call', callee: node, args, pos: t.pos };
      } else return node;
    }
  };

  const ast = expression(0);
  if (peek().k !== 'eof') throw new ExprSyntaxError(`unexpected ${desc(peek())}`, peek().pos);
  return ast;
}
