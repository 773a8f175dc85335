/**
 * Evaluates a govaluate AST against named parameters, with govaluate's typing rules
 * (https://github.com/Knetic/govaluate/blob/master/MANUAL.md):
 * - numbers are float64; `+` concatenates when either side is a string;
 * - other arithmetic and bitwise operators need numbers, `&&`/`||`/`!` need booleans;
 * - `> >= < <=` compare two numbers or two strings; `==`/`!=` are deep equality (no coercion);
 * - `=~`/`!~` match the left string against the right RE2 pattern (unanchored);
 * - `in` tests membership in an array `(a, b, c)`;
 * - `a ? b` yields b when a is true, else nil; `x : y` yields x unless nil; `a ?? b` coalesces.
 * An unknown parameter is an error ("No parameter 'x' found."), as in govaluate.
 */
import { Deadline, DEFAULT_DEADLINE_MS } from '../limits.js';
import { re2Find } from '../expr/re2.util.js';
import { parseGovaluate, type GvNode, type GvValue } from './govaluate.parser.js';

export class GovaluateEvalError extends Error {
  override name = 'GovaluateEvalError';
}

/** A compiled govaluate expression. */
export interface CompiledGovaluate {
  readonly source: string;
  readonly ast: GvNode;
}

/** Parses once; throws GovaluateSyntaxError. */
export function compileGovaluate(source: string): CompiledGovaluate {
  return { source, ast: parseGovaluate(source) };
}

const show = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)));
const isNum = (v: unknown): v is number => typeof v === 'number';

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (
    a &&
    b &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    !Array.isArray(a) &&
    !Array.isArray(b)
  ) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every(
        (k) =>
          Object.prototype.hasOwnProperty.call(b, k) &&
          deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return false;
}

function lookup(params: Readonly<Record<string, unknown>>, name: string): GvValue {
  if (Object.prototype.hasOwnProperty.call(params, name)) return (params[name] ?? null) as GvValue;
  const parts = name.split('.');
  if (parts.length > 1 && Object.prototype.hasOwnProperty.call(params, parts[0]!)) {
    let cur: unknown = params[parts[0]!];
    for (const part of parts.slice(1)) {
      if (
        cur === null ||
        typeof cur !== 'object' ||
        Array.isArray(cur) ||
        !Object.prototype.hasOwnProperty.call(cur, part)
      ) {
        throw new GovaluateEvalError(
          `No method or field '${part}' present on parameter '${parts[0]}'`,
        );
      }
      cur = (cur as Record<string, unknown>)[part];
    }
    return (cur ?? null) as GvValue;
  }
  throw new GovaluateEvalError(`No parameter '${name}' found.`);
}

const toInt64 = (n: number): bigint => BigInt.asIntN(64, BigInt(Math.trunc(n)));

function num(v: GvValue, op: string, what = 'modifier'): number {
  if (!isNum(v))
    throw new GovaluateEvalError(
      `Value '${show(v)}' cannot be used with the ${what} '${op}', it is not a number`,
    );
  return v;
}
function bool(v: GvValue, op: string): boolean {
  if (typeof v !== 'boolean')
    throw new GovaluateEvalError(
      `Value '${show(v)}' cannot be used with the logical operator '${op}', it is not a bool`,
    );
  return v;
}

const MAX_STRING = 1 << 20;

/** Evaluates against parameters (a plain JSON object). Throws GovaluateEvalError or RegexSyntaxError. */
export function evaluateGovaluate(
  compiled: CompiledGovaluate,
  params: Readonly<Record<string, unknown>>,
  deadlineMs = DEFAULT_DEADLINE_MS,
): GvValue {
  // No loops in the language: evaluation is linear in the expression (RE2 regexes are linear
  // too); the deadline and the string bound cover what a large expression could still build.
  const deadline = new Deadline(deadlineMs);
  const ev = (n: GvNode): GvValue => {
    if (deadline.tick())
      throw new GovaluateEvalError(`evaluation exceeded its deadline of ${deadline.ms} ms`);
    switch (n.kind) {
      case 'lit':
        return n.value;
      case 'param':
        return lookup(params, n.name);
      case 'array':
        return n.items.map(ev);
      case 'unary': {
        const v = ev(n.operand);
        if (n.op === '!') {
          if (typeof v !== 'boolean')
            throw new GovaluateEvalError(
              `Value '${show(v)}' cannot be used with the prefix '!', it is not a bool`,
            );
          return !v;
        }
        const x = num(v, n.op, 'prefix');
        return n.op === '-' ? -x : Number(BigInt.asIntN(64, ~toInt64(x)));
      }
      case 'binary':
        return binary(n);
    }
  };
  const binary = (n: Extract<GvNode, { kind: 'binary' }>): GvValue => {
    const { op } = n;
    if (op === '&&' || op === '||') {
      const l = bool(ev(n.left), op);
      if (op === '&&' ? !l : l) return l;
      return bool(ev(n.right), op);
    }
    if (op === '??') {
      const l = ev(n.left);
      return l !== null ? l : ev(n.right);
    }
    if (op === '?') {
      const l = ev(n.left);
      if (typeof l !== 'boolean')
        throw new GovaluateEvalError(
          `Value '${show(l)}' cannot be used with the ternary operator '?', it is not a bool`,
        );
      return l ? ev(n.right) : null;
    }
    if (op === ':') {
      const l = ev(n.left);
      return l !== null ? l : ev(n.right);
    }
    const l = ev(n.left);
    const r = ev(n.right);
    switch (op) {
      case '==':
        return deepEqual(l, r);
      case '!=':
        return !deepEqual(l, r);
      case '>':
      case '>=':
      case '<':
      case '<=': {
        if (!((isNum(l) && isNum(r)) || (typeof l === 'string' && typeof r === 'string'))) {
          throw new GovaluateEvalError(
            `Value '${show(isNum(l) || typeof l === 'string' ? r : l)}' cannot be used with the comparator '${op}', it is not a number`,
          );
        }
        return op === '>' ? l > r : op === '>=' ? l >= r : op === '<' ? l < r : l <= r;
      }
      case '=~':
      case '!~': {
        if (typeof l !== 'string' || typeof r !== 'string')
          throw new GovaluateEvalError(
            `Value '${show(typeof l !== 'string' ? l : r)}' cannot be used with the comparator '${op}', it is not a string`,
          );
        const m = re2Find(r, l);
        return op === '=~' ? m : !m;
      }
      case 'in': {
        if (!Array.isArray(r))
          throw new GovaluateEvalError(
            `Value '${show(r)}' cannot be used with the comparator 'in', it is not an array`,
          );
        return r.some((x) => deepEqual(l, x));
      }
      case '+':
        if (typeof l === 'string' || typeof r === 'string') {
          const out = show(l) + show(r);
          if (out.length > MAX_STRING)
            throw new GovaluateEvalError(`string result longer than ${MAX_STRING} characters`);
          return out;
        }
        return num(l, op) + num(r, op);
      case '-':
        return num(l, op) - num(r, op);
      case '*':
        return num(l, op) * num(r, op);
      case '/':
        return num(l, op) / num(r, op);
      case '%': {
        const a = num(l, op);
        const b = num(r, op);
        return a % b;
      }
      case '**':
        return Math.pow(num(l, op), num(r, op));
      case '&':
      case '|':
      case '^':
      case '<<':
      case '>>': {
        const a = toInt64(num(l, op, 'bitwise modifier'));
        const b = toInt64(num(r, op, 'bitwise modifier'));
        if ((op === '<<' || op === '>>') && (b < 0n || b > 63n))
          return op === '<<' ? 0 : a < 0n ? -1 : 0;
        const res =
          op === '&'
            ? a & b
            : op === '|'
              ? a | b
              : op === '^'
                ? a ^ b
                : op === '<<'
                  ? a << b
                  : a >> b;
        return Number(BigInt.asIntN(64, res));
      }
      default:
        throw new GovaluateEvalError(`unsupported operator '${op}'`);
    }
  };
  return ev(compiled.ast);
}
