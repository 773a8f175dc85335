/**
 * A govaluate-compatible expression language (https://github.com/Knetic/govaluate, v3), used by
 * Argo's Sensor `exprs` filter (`pkg/sensors/dependencies/filter.go filterExpr`). Parsed once
 * into an AST; evaluation is in `govaluate.evaluator.ts`.
 *
 * Grammar, lowest precedence first (govaluate's planner order; all left-associative):
 *   separator `,` (builds arrays, only inside parentheses)
 *   ternary `?` `:` and null-coalescence `??`
 *   `||`, then `&&`
 *   comparators `== != > >= < <= =~ !~ in`
 *   bitwise `| ^ &`, shifts `<< >>`, additive `+ -`, multiplicative `* / %`, exponent `**`
 *   prefix `- ! ~`
 * Values: numbers (float64, also `0x` hex), strings in '…' or "…", `true`/`false`, parameters
 * (`name`, `a.b` accessors, or `[any-name]` escaped), parenthesised groups.
 */

import { PositionedSyntaxError } from '../syntax-error.js';

export type GvNode =
  | { kind: 'lit'; value: GvValue }
  | { kind: 'param'; name: string; pos: number }
  | { kind: 'array'; items: GvNode[] }
  | { kind: 'unary'; op: '-' | '!' | '~'; operand: GvNode; pos: number }
  | { kind: 'binary'; op: string; left: GvNode; right: GvNode; pos: number };

export type GvValue = number | string | boolean | null | GvValue[] | { [k: string]: GvValue };

export class GovaluateSyntaxError extends PositionedSyntaxError {
  override name = 'GovaluateSyntaxError';
}

type TokKind = 'num' | 'str' | 'bool' | 'param' | 'op' | '(' | ')' | ',' | 'eof';
interface Tok {
  k: TokKind;
  v: string;
  n?: number;
  pos: number;
}

const OPERATORS = [
  '**',
  '==',
  '!=',
  '>=',
  '<=',
  '=~',
  '!~',
  '&&',
  '||',
  '??',
  '<<',
  '>>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '>',
  '<',
  '!',
  '~',
  '&',
  '|',
  '^',
  '?',
  ':',
];
const MAX_DEPTH = 200;
const MAX_GOVALUATE_LENGTH = 64 * 1024;

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
    if (c === '(' || c === ')' || c === ',') {
      out.push({ k: c, v: c, pos: i++ });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m =
        /^0x[0-9a-fA-F]+/.exec(src.slice(i)) ??
        /^[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i)) ??
        /^[0-9]+\.?/.exec(src.slice(i));
      const text = m![0];
      const n = text.startsWith('0x') ? parseInt(text.slice(2), 16) : Number(text);
      if (Number.isNaN(n))
        throw new GovaluateSyntaxError(`invalid number ${JSON.stringify(text)}`, start);
      out.push({ k: 'num', v: text, n, pos: start });
      i += text.length;
    } else if (c === '"' || c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new GovaluateSyntaxError('unclosed string literal', start);
        const ch = src[i]!;
        if (ch === '\\' && i + 1 < src.length) {
          const e = src[i + 1]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          i += 2;
        } else if (ch === c) {
          i++;
          break;
        } else {
          s += ch;
          i++;
        }
      }
      out.push({ k: 'str', v: s, pos: start });
    } else if (c === '[') {
      const end = src.indexOf(']', i + 1);
      if (end < 0) throw new GovaluateSyntaxError('unclosed parameter name "["', start);
      const name = src.slice(i + 1, end).replace(/\\(.)/g, '$1');
      out.push({ k: 'param', v: name, pos: start });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z0-9_.]+/.exec(src.slice(i))!;
      const word = m[0];
      if (word === 'true' || word === 'false') out.push({ k: 'bool', v: word, pos: start });
      else if (word === 'in' || word === 'IN') out.push({ k: 'op', v: 'in', pos: start });
      else out.push({ k: 'param', v: word, pos: start });
      i += word.length;
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (op === undefined)
        throw new GovaluateSyntaxError(`invalid character ${JSON.stringify(c)}`, start);
      out.push({ k: 'op', v: op, pos: start });
      i += op.length;
    }
  }
  out.push({ k: 'eof', v: '', pos: src.length });
  return out;
}

const LEVELS: string[][] = [
  ['?', ':', '??'],
  ['||'],
  ['&&'],
  ['==', '!=', '>', '>=', '<', '<=', '=~', '!~', 'in'],
  ['|', '^', '&'],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
  ['**'],
];

/** Parses a govaluate expression into an AST; throws {@link GovaluateSyntaxError}. */
export function parseGovaluate(src: string): GvNode {
  if (typeof src !== 'string') throw new GovaluateSyntaxError('expression must be a string', 0);
  if (src.length > MAX_GOVALUATE_LENGTH)
    throw new GovaluateSyntaxError(`expression longer than ${MAX_GOVALUATE_LENGTH} characters`, 0);
  const toks = lex(src);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const desc = (t: Tok): string => (t.k === 'eof' ? 'end of expression' : JSON.stringify(t.v));

  const binary = (level: number, depth: number): GvNode => {
    if (level >= LEVELS.length) return prefix(depth);
    const ops = LEVELS[level]!;
    let left = binary(level + 1, depth);
    for (;;) {
      const t = peek();
      if (t.k !== 'op' || !ops.includes(t.v)) return left;
      p++;
      left = { kind: 'binary', op: t.v, left, right: binary(level + 1, depth), pos: t.pos };
    }
  };
  const prefix = (depth: number): GvNode => {
    if (depth > MAX_DEPTH)
      throw new GovaluateSyntaxError('expression nested too deeply', peek().pos);
    const t = peek();
    if (t.k === 'op' && (t.v === '-' || t.v === '!' || t.v === '~')) {
      p++;
      return { kind: 'unary', op: t.v, operand: prefix(depth + 1), pos: t.pos };
    }
    return value(depth);
  };
  const value = (depth: number): GvNode => {
    const t = peek();
    p++;
    switch (t.k) {
      case 'num':
        return { kind: 'lit', value: t.n! };
      case 'str':
        return { kind: 'lit', value: t.v };
      case 'bool':
        return { kind: 'lit', value: t.v === 'true' };
      case 'param':
        return { kind: 'param', name: t.v, pos: t.pos };
      case '(': {
        const items = [binary(0, depth + 1)];
        while (peek().k === ',') {
          p++;
          items.push(binary(0, depth + 1));
        }
        const close = peek();
        if (close.k !== ')')
          throw new GovaluateSyntaxError(`expected ")" but found ${desc(close)}`, close.pos);
        p++;
        return items.length === 1 ? items[0]! : { kind: 'array', items };
      }
      default:
        throw new GovaluateSyntaxError(`unexpected ${desc(t)}`, t.pos);
    }
  };
  const ast = binary(0, 0);
  if (peek().k !== 'eof') throw new GovaluateSyntaxError(`unexpected ${desc(peek())}`, peek().pos);
  return ast;
}
