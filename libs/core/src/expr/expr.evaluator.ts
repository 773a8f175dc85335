/**
 * Tree-walking evaluator for the expr AST with expr's runtime semantics
 * (https://expr-lang.org/docs/language-definition): int/float arithmetic (`/` and `**` give
 * floats, `%` needs ints), numeric comparison across int/float, strict `and`/`or`/`not` on bools,
 * `in` over lists (equality) and maps (keys), string operators, `matches` with RE2 (unanchored),
 * nil-returning map lookups of missing keys, negative list indices, `?.` optional chaining.
 *
 * Evaluation is bounded: at most `maxSteps` node evaluations, so no input can hang the process.
 */
import { Deadline, DEFAULT_DEADLINE_MS } from '../limits.js';
import {
  ExprEvalError,
  ExprFunction,
  type ExprMap,
  type ExprNode,
  type ExprValue,
} from './expr.ast.js';
import { BUILTINS } from './expr.functions.js';
import { parseExpr } from './expr.parser.js';
import { re2Find } from './re2.util.js';
import { equal, goString, isMap, isNumeric, typeName } from './expr.values.js';

export interface CompiledExpr {
  readonly source: string;
  readonly ast: ExprNode;
}

export interface EvalOptions {
  /** Maximum node evaluations (default 100 000). */
  maxSteps?: number;
  /** Wall-clock deadline in milliseconds (default 2 000). */
  deadlineMs?: number;
}

const MAX_RANGE = 1_000_000;

/** Parses once; throws ExprSyntaxError with the position. */
export function compileExpr(source: string): CompiledExpr {
  return { source, ast: parseExpr(source) };
}

const int64 = (n: bigint): bigint => BigInt.asIntN(64, n);

function mismatch(op: string, a: ExprValue, b: ExprValue): never {
  throw new ExprEvalError(
    `invalid operation: ${op} (mismatched types ${typeName(a)} and ${typeName(b)})`,
  );
}

function toIndex(v: ExprValue): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new ExprEvalError(`non-integer index of type ${typeName(v)}`);
}

function fetch(obj: ExprValue, key: ExprValue, optional: boolean): ExprValue {
  if (obj === null) {
    if (optional) return null;
    throw new ExprEvalError(`cannot fetch ${goString(key)} from <nil>`);
  }
  if (isMap(obj)) {
    if (typeof key !== 'string')
      throw new ExprEvalError(`cannot fetch ${goString(key)} (${typeName(key)}) from map`);
    return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key]! : null;
  }
  if (Array.isArray(obj) || typeof obj === 'string') {
    const chars = typeof obj === 'string' ? [...obj] : obj;
    let i = toIndex(key);
    if (i < 0) i += chars.length;
    if (i < 0 || i >= chars.length)
      throw new ExprEvalError(
        `index out of range: ${toIndex(key)} (array length is ${chars.length})`,
      );
    return chars[i]!;
  }
  throw new ExprEvalError(`cannot fetch ${goString(key)} from ${typeName(obj)}`);
}

function arith(op: '+' | '-' | '*' | '/' | '%' | '**', a: ExprValue, b: ExprValue): ExprValue {
  if (op === '+' && typeof a === 'string' && typeof b === 'string') {
    if (a.length + b.length > 1 << 20)
      throw new ExprEvalError(`string result longer than ${1 << 20} characters`);
    return a + b;
  }
  if (op === '+' && Array.isArray(a) && Array.isArray(b)) {
    if (a.length + b.length > MAX_RANGE)
      throw new ExprEvalError(`list result longer than ${MAX_RANGE} items`);
    return [...a, ...b];
  }
  if (!isNumeric(a) || !isNumeric(b)) mismatch(op, a, b);
  if (op === '/') {
    return Number(a) / Number(b);
  }
  if (op === '**') return Math.pow(Number(a), Number(b));
  if (op === '%') {
    if (typeof a !== 'bigint' || typeof b !== 'bigint') mismatch('%', a, b);
    if (b === 0n) throw new ExprEvalError('integer divide by zero');
    return a % b;
  }
  if (typeof a === 'bigint' && typeof b === 'bigint')
    return int64(op === '+' ? a + b : op === '-' ? a - b : a * b);
  const x = Number(a);
  const y = Number(b);
  return op === '+' ? x + y : op === '-' ? x - y : x * y;
}

function compare(op: '<' | '>' | '<=' | '>=', a: ExprValue, b: ExprValue): boolean {
  let x: number | bigint | string;
  let y: number | bigint | string;
  if (isNumeric(a) && isNumeric(b)) {
    [x, y] = typeof a === typeof b ? [a, b] : [Number(a), Number(b)];
  } else if (typeof a === 'string' && typeof b === 'string') [x, y] = [a, b];
  else mismatch(op, a, b);
  return op === '<' ? x < y : op === '>' ? x > y : op === '<=' ? x <= y : x >= y;
}

/** Evaluates a compiled expression against an environment (variables and functions). */
export function evaluateExpr(
  compiled: CompiledExpr,
  env: Readonly<ExprMap>,
  options: EvalOptions = {},
): ExprValue {
  const maxSteps = options.maxSteps ?? 100_000;
  let steps = 0;
  const deadline = new Deadline(options.deadlineMs ?? DEFAULT_DEADLINE_MS);

  const ev = (n: ExprNode): ExprValue => {
    if (++steps > maxSteps) throw new ExprEvalError(`evaluation exceeded ${maxSteps} steps`);
    if (deadline.tick())
      throw new ExprEvalError(`evaluation exceeded its deadline of ${deadline.ms} ms`);
    switch (n.kind) {
      case 'literal':
        return n.value;
      case 'ident':
        if (Object.prototype.hasOwnProperty.call(env, n.name)) return env[n.name]!;
        if (Object.prototype.hasOwnProperty.call(BUILTINS, n.name)) return BUILTINS[n.name]!;
        throw new ExprEvalError(`unknown name ${n.name} (${n.pos})`);
      case 'array':
        return n.items.map(ev);
      case 'map': {
        const out: ExprMap = {};
        for (const [k, v] of n.entries) out[k] = ev(v);
        return out;
      }
      case 'member': {
        const obj = ev(n.object);
        if (obj === null && (n.optional || optionalChain(n.object))) return null;
        return fetch(obj, ev(n.property), n.optional);
      }
      case 'slice': {
        const obj = ev(n.object);
        if (!Array.isArray(obj) && typeof obj !== 'string')
          throw new ExprEvalError(`cannot slice ${typeName(obj)}`);
        const items = typeof obj === 'string' ? [...obj] : obj;
        const clamp = (i: number): number =>
          Math.min(items.length, Math.max(0, i < 0 ? i + items.length : i));
        const from = n.from ? clamp(toIndex(ev(n.from))) : 0;
        const to = n.to ? clamp(toIndex(ev(n.to))) : items.length;
        const part = items.slice(from, Math.max(from, to));
        return typeof obj === 'string' ? (part as string[]).join('') : part;
      }
      case 'call': {
        const callee = ev(n.callee);
        if (!(callee instanceof ExprFunction))
          throw new ExprEvalError(`${describe(n.callee)} is not a function (${typeName(callee)})`);
        return callee.call(n.args.map(ev));
      }
      case 'unary': {
        const v = ev(n.operand);
        if (n.op === 'not') {
          if (typeof v !== 'boolean')
            throw new ExprEvalError(`invalid operation: ! (mismatched type ${typeName(v)})`);
          return !v;
        }
        if (!isNumeric(v))
          throw new ExprEvalError(`invalid operation: ${n.op} (mismatched type ${typeName(v)})`);
        if (n.op === '+') return v;
        return typeof v === 'bigint' ? int64(-v) : -v;
      }
      case 'conditional': {
        const t = ev(n.test);
        if (typeof t !== 'boolean')
          throw new ExprEvalError(
            `non-bool ${goString(t)} (type ${typeName(t)}) used as condition`,
          );
        return t ? ev(n.then) : ev(n.otherwise);
      }
      case 'binary':
        return binary(n);
    }
  };

  const optionalChain = (n: ExprNode): boolean =>
    n.kind === 'member' && (n.optional || optionalChain(n.object));
  const describe = (n: ExprNode): string =>
    n.kind === 'ident'
      ? n.name
      : n.kind === 'member' && n.property.kind === 'literal'
        ? String(n.property.value)
        : 'expression';

  const binary = (n: Extract<ExprNode, { kind: 'binary' }>): ExprValue => {
    const { op } = n;
    if (op === 'and' || op === 'or') {
      const l = ev(n.left);
      if (typeof l !== 'boolean')
        throw new ExprEvalError(`invalid operation: ${op} (mismatched type ${typeName(l)})`);
      if (op === 'and' ? !l : l) return l;
      const r = ev(n.right);
      if (typeof r !== 'boolean')
        throw new ExprEvalError(`invalid operation: ${op} (mismatched type ${typeName(r)})`);
      return r;
    }
    if (op === '??') {
      let l: ExprValue;
      try {
        l = ev(n.left);
      } catch (e) {
        // expr treats member access on the left of ?? as nil-safe.
        if (
          e instanceof ExprEvalError &&
          n.left.kind === 'member' &&
          /cannot fetch .* from <nil>/.test(e.message)
        )
          l = null;
        else throw e;
      }
      return l !== null ? l : ev(n.right);
    }
    const l = ev(n.left);
    const r = ev(n.right);
    let out: ExprValue;
    switch (op) {
      case '==':
        return equal(l, r);
      case '!=':
        return !equal(l, r);
      case '<':
      case '>':
      case '<=':
      case '>=':
        return compare(op, l, r);
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
      case '**':
        return arith(op, l, r);
      case '..': {
        if (typeof l !== 'bigint' || typeof r !== 'bigint') mismatch('..', l, r);
        if (r - l + 1n > BigInt(MAX_RANGE))
          throw new ExprEvalError(`range ${l}..${r} longer than ${MAX_RANGE}`);
        const items: bigint[] = [];
        for (let i = l; i <= r; i++) items.push(i);
        steps += items.length;
        if (deadline.passed())
          throw new ExprEvalError(`evaluation exceeded its deadline of ${deadline.ms} ms`);
        return items;
      }
      case 'in':
        if (Array.isArray(r)) out = r.some((x) => equal(l, x));
        else if (isMap(r)) {
          if (typeof l !== 'string')
            throw new ExprEvalError(`cannot use ${typeName(l)} as map key`);
          out = Object.prototype.hasOwnProperty.call(r, l);
        } else if (r === null) out = false;
        else throw new ExprEvalError(`operator "in" not defined on ${typeName(r)}`);
        break;
      case 'matches':
        if (typeof l !== 'string' || typeof r !== 'string') mismatch('matches', l, r);
        out = re2Find(r, l);
        break;
      case 'contains':
      case 'startsWith':
      case 'endsWith':
        if (typeof l !== 'string' || typeof r !== 'string') mismatch(op, l, r);
        out =
          op === 'contains' ? l.includes(r) : op === 'startsWith' ? l.startsWith(r) : l.endsWith(r);
        break;
    }
    return n.negate ? !out : out;
  };

  return ev(compiled.ast);
}
