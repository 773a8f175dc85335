/**
 * Compiling and evaluating trigger `conditions` parsed by libs/api's one condition grammar
 * (`parseCondition`). An empty/absent condition means every dependency, AND-ed (Argo's default).
 */
import {
  ConditionSyntaxError,
  conditionDependencies,
  parseCondition,
  type ConditionAst,
} from '@ganglion/api';

/** Argo's default: every dependency AND-ed. */
export function defaultCondition(dependencies: readonly string[]): ConditionAst {
  if (dependencies.length === 0)
    throw new ConditionSyntaxError('a trigger needs at least one dependency', 0);
  return dependencies
    .map((name): ConditionAst => ({ kind: 'dep', name }))
    .reduce((left, right) => ({ kind: 'and', left, right }));
}

/**
 * Compiles a trigger's conditions: parses `conditions` if non-blank, else the default AND of
 * `dependencies`. Names not among `dependencies` are rejected (when that list is given).
 */
export function compileCondition(
  conditions: string | undefined,
  dependencies: readonly string[],
): ConditionAst {
  if (conditions === undefined || conditions.trim() === '') return defaultCondition(dependencies);
  const ast = parseCondition(conditions);
  if (dependencies.length > 0) {
    const unknown = conditionDependencies(ast).filter((d) => !dependencies.includes(d));
    if (unknown.length > 0) {
      const at = conditions.indexOf(unknown[0]!);
      throw new ConditionSyntaxError(
        `unknown dependency ${unknown.map((u) => JSON.stringify(u)).join(', ')} in conditions at position ${at + 1}`,
        at,
      );
    }
  }
  return ast;
}

/** Evaluates a condition against the set of dependencies that currently have an event. */
export function evaluateCondition(
  ast: ConditionAst,
  satisfied: ReadonlySet<string> | readonly string[],
): boolean {
  const has = Array.isArray(satisfied)
    ? (n: string) => satisfied.includes(n)
    : (n: string) => (satisfied as ReadonlySet<string>).has(n);
  const ev = (n: ConditionAst): boolean =>
    n.kind === 'dep'
      ? has(n.name)
      : n.kind === 'and'
        ? ev(n.left) && ev(n.right)
        : ev(n.left) || ev(n.right);
  return ev(ast);
}
