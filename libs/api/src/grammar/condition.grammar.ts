/**
 * Trigger `conditions`: a boolean expression over dependency names with `&&`, `||` and
 * parentheses, e.g. `(dep01 || dep-02) && dep_04` (Argo `trigger.template.conditions`,
 * evaluated in `pkg/sensors` via govaluate after escaping `-`). Parsed once into an AST.
 * An empty/absent condition means every dependency, AND-ed (Argo's default).
 */

import { PositionedSyntaxError } from '../syntax-error.js';

export type ConditionAst =
  | { kind: 'dep'; name: string }
  | { kind: 'and'; left: ConditionAst; right: ConditionAst }
  | { kind: 'or'; left: ConditionAst; right: ConditionAst };

/** A syntax error with the 0-based character position where it was found. */
export class ConditionSyntaxError extends PositionedSyntaxError {
  override name = 'ConditionSyntaxError';
}

type Tok = { t: 'name' | '&&' | '||' | '(' | ')' | 'eof'; v: string; pos: number };
const NAME = /[A-Za-z0-9_\-.]/;
const MAX_DEPTH = 200;

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ t: c, v: c, pos: i++ });
    } else if ((c === '&' || c === '|') && src[i + 1] === c) {
      out.push({ t: c === '&' ? '&&' : '||', v: c + c, pos: i });
      i += 2;
    } else if (NAME.test(c)) {
      const start = i;
      while (i < src.length && NAME.test(src[i]!)) i++;
      out.push({ t: 'name', v: src.slice(start, i), pos: start });
    } else {
      throw new ConditionSyntaxError(`unexpected character ${JSON.stringify(c)}`, i);
    }
  }
  out.push({ t: 'eof', v: '', pos: src.length });
  return out;
}

/** Parses a conditions string; throws {@link ConditionSyntaxError}. `&&` binds tighter than `||`. */
export function parseCondition(src: string): ConditionAst {
  const toks = lex(src);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const expect = (t: Tok['t']): Tok => {
    const tok = peek();
    if (tok.t !== t) throw new ConditionSyntaxError(`expected ${t === 'name' ? 'a dependency name' : `"${t}"`} but found ${tok.t === 'eof' ? 'end of input' : JSON.stringify(tok.v)}`, tok.pos);
    p++;
    return tok;
  };
  const or = (depth: number): ConditionAst => {
    let left = and(depth);
    while (peek().t === '||') {
      p++;
      left = { kind: 'or', left, right: and(depth) };
    }
    return left;
  };
  const and = (depth: number): ConditionAst => {
    let left = primary(depth);
    while (peek().t === '&&') {
      p++;
      left = { kind: 'and', left, right: primary(depth) };
    }
    return left;
  };
  const primary = (depth: number): ConditionAst => {
    if (depth > MAX_DEPTH) throw new ConditionSyntaxError('expression nested too deeply', peek().pos);
    if (peek().t === '(') {
      p++;
      const inner = or(depth + 1);
      expect(')');
      return inner;
    }
    return { kind: 'dep', name: expect('name').v };
  };
  const ast = or(0);
  expect('eof');
  return ast;
}

/** The dependency names a condition mentions, in first-seen order. */
export function conditionDependencies(ast: ConditionAst): string[] {
  const seen = new Set<string>();
  const walk = (n: ConditionAst): void => {
    if (n.kind === 'dep') seen.add(n.name);
    else {
      walk(n.left);
      walk(n.right);
    }
  };
  walk(ast);
  return [...seen];
}

/** Argo's default: every dependency AND-ed. */
export function defaultCondition(dependencies: readonly string[]): ConditionAst {
  if (dependencies.length === 0) throw new ConditionSyntaxError('a trigger needs at least one dependency', 0);
  return dependencies
    .map((name): ConditionAst => ({ kind: 'dep', name }))
    .reduce((left, right) => ({ kind: 'and', left, right }));
}

/**
 * Compiles a trigger's conditions: parses `conditions` if non-blank, else the default AND of
 * `dependencies`. Names not among `dependencies` are rejected (when that list is given).
 */
export function compileCondition(conditions: string | undefined, dependencies: readonly string[]): ConditionAst {
  if (conditions === undefined || conditions.trim() === '') return defaultCondition(dependencies);
  const ast = parseCondition(conditions);
  if (dependencies.length > 0) {
    const unknown = conditionDependencies(ast).filter((d) => !dependencies.includes(d));
    if (unknown.length > 0) throw new ConditionSyntaxError(`unknown dependency ${unknown.map((u) => JSON.stringify(u)).join(', ')} in conditions`, conditions.indexOf(unknown[0]!));
  }
  return ast;
}

/** Evaluates a condition against the set of dependencies that currently have an event. */
export function evaluateCondition(ast: ConditionAst, satisfied: ReadonlySet<string> | readonly string[]): boolean {
  const has = Array.isArray(satisfied) ? (n: string) => satisfied.includes(n) : (n: string) => (satisfied as ReadonlySet<string>).has(n);
  const ev = (n: ConditionAst): boolean => (n.kind === 'dep' ? has(n.name) : n.kind === 'and' ? ev(n.left) && ev(n.right) : ev(n.left) || ev(n.right));
  return ev(ast);
}
