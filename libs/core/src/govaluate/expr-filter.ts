/**
 * The Sensor dependency `exprs` filter (`ExprFilter{expr, fields[{path, name}]}`), as in Argo's
 * `pkg/sensors/dependencies/filter.go filterExpr`:
 * - no filters → pass; event data absent → pass; data that is not JSON → error;
 * - each field is extracted with a gjson path and bound to `name`; a missing path is an error
 *   (in `or` mode it is collected and that filter is skipped);
 * - a filter without fields is skipped;
 * - `and` (default): the first false result fails; `or`: the first true result passes, and when
 *   none passes the collected errors are reported.
 * The expression must evaluate to a boolean `true` to count as passing.
 */
import { getPath } from '../paths.js';
import {
  compileGovaluate,
  evaluateGovaluate,
  type CompiledGovaluate,
} from './govaluate.evaluator.js';

interface ExprFilterField {
  path: string;
  name: string;
}

export interface ExprFilter {
  expr: string;
  fields?: ExprFilterField[];
}

export type LogicalOperator = 'and' | 'or';

export class ExprFilterError extends Error {
  override name = 'ExprFilterError';
}

const compiledCache = new WeakMap<ExprFilter, CompiledGovaluate>();

function compiled(filter: ExprFilter): CompiledGovaluate {
  let c = compiledCache.get(filter);
  if (!c) {
    c = compileGovaluate(filter.expr);
    compiledCache.set(filter, c);
  }
  return c;
}

/** Event data as the filter sees it: a decoded JSON value; a non-JSON string is rejected. */
function asJson(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data);
  } catch {
    throw new ExprFilterError('event data not valid JSON');
  }
}

/** Evaluates one filter. Returns true/false; throws ExprFilterError, GovaluateSyntaxError or GovaluateEvalError. */
export function evaluateExprFilter(filter: ExprFilter, eventData: unknown): boolean {
  return evaluateExprFilters([filter], eventData, 'and');
}

/** Evaluates a list of expr filters with `exprLogicalOperator` semantics. */
export function evaluateExprFilters(
  filters: readonly ExprFilter[] | undefined,
  eventData: unknown,
  operator: LogicalOperator | '' = 'and',
): boolean {
  if (!filters || filters.length === 0) return true;
  if (eventData === undefined || eventData === null) return true;
  const data = asJson(eventData);
  const or = operator === 'or';
  const errors: string[] = [];
  next: for (const filter of filters) {
    const params: Record<string, unknown> = {};
    for (const field of filter.fields ?? []) {
      const v = getPath(data, field.path);
      if (v === undefined) {
        const msg = `path '${field.path}' does not exist`;
        if (or) {
          errors.push(msg);
          continue next;
        }
        throw new ExprFilterError(msg);
      }
      params[field.name] = v;
    }
    if (Object.keys(params).length === 0) continue;
    let result: unknown;
    try {
      result = evaluateGovaluate(compiled(filter), params);
    } catch (e) {
      if (or) {
        errors.push((e as Error).message);
        continue;
      }
      throw e;
    }
    if (result === true) {
      if (or) return true;
    } else if (!or) return false;
  }
  if (or) {
    if (errors.length > 0) throw new ExprFilterError(errors.join('; '));
    return false;
  }
  return true;
}
