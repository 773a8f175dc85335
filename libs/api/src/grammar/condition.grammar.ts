/**
 * Trigger `conditions`: a boolean expression over dependency names with `&&`, `||` and
 * parentheses, e.g. `(dep01 || dep-02) && dep_04` (Argo `trigger.template.conditions`,
 * evaluated in `pkg/sensors` via govaluate after escaping `-`). `&&` binds tighter than `||`.
 * A name starts with a letter, digit or `_` and may go on with `-` and `.`.
 *
 * The one condition grammar: validation (`parseConditionNames`) and the runtime (libs/core
 * `compileCondition`, the sensor's join) both call {@link parseCondition}. Evaluation lives in
 * libs/core.
 */

export type ConditionAst =
  | { kind: 'dep'; name: string }
  | { kind: 'and'; left: ConditionAst; right: ConditionAst }
  | { kind: 'or'; left: ConditionAst; right: ConditionAst };

/** A syntax error with the 0-based character position where it was found (the message counts from 1). */
export class ConditionSyntaxError extends Error {
  override name = 'ConditionSyntaxError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

type Tok = { t: 'name' | '&&' | '||' | '(' | ')' | 'eof'; v: string; pos: number };
const NAME_START = /[A-Za-z0-9_]/;
const NAME = /[A-Za-z0-9_.-]/;
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
    } else if (NAME_START.test(c)) {
      const start = i;
      while (i < src.length && NAME.test(src[i]!)) i++;
      out.push({ t: 'name', v: src.slice(start, i), pos: start });
    } else {
      throw new ConditionSyntaxError(
        `unexpected "${c}" at position ${i + 1}; use dependency names, &&, || and parentheses`,
        i,
      );
    }
  }
  out.push({ t: 'eof', v: '', pos: src.length });
  return out;
}

/** Parses a conditions string; throws {@link ConditionSyntaxError}. */
export function parseCondition(src: string): ConditionAst {
  if (typeof src !== 'string') throw new ConditionSyntaxError('must be a string', 0);
  const toks = lex(src);
  if (toks.length === 1) throw new ConditionSyntaxError('is empty', 0);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const fail = (what: string): never => {
    const tok = peek();
    throw new ConditionSyntaxError(
      tok.t === 'eof'
        ? `expected ${what} at the end`
        : `expected ${what} at position ${tok.pos + 1}, got "${tok.v}"`,
      tok.pos,
    );
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
    const tok = peek();
    if (depth > MAX_DEPTH)
      throw new ConditionSyntaxError(`is nested too deeply at position ${tok.pos + 1}`, tok.pos);
    if (tok.t === '(') {
      p++;
      const inner = or(depth + 1);
      if (peek().t !== ')') fail('")"');
      p++;
      return inner;
    }
    if (tok.t !== 'name') fail('a dependency name or "("');
    p++;
    return { kind: 'dep', name: tok.v };
  };
  const ast = or(0);
  if (peek().t !== 'eof') fail('&& or ||');
  return ast;
}

/** The dependency names a condition mentions, in first-seen order. */
export function conditionDependencies(ast: ConditionAst): string[] {
  const seen = new Set<string>();
  const todo: ConditionAst[] = [ast];
  for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
    if (n.kind === 'dep') seen.add(n.name);
    else todo.push(n.right, n.left);
  }
  return [...seen];
}
