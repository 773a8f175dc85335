/**
 * Evaluates a dependency's `filters` the way Argo's `filterEvent`
 * (`pkg/sensors/dependencies/filter.go`) does, combining exprs, data, context, time and script
 * per `filtersLogicalOperator`:
 * - `and` (default): any error fails; otherwise all must pass (unconfigured ones pass);
 * - `or`: passes if any *configured* filter passes and none errors (Argo returns the collected
 *   errors with the verdict, and an error fails the event).
 * The result carries a `reason` naming the filter that decided, for "why didn't it fire?".
 */
import type { SensorEvent } from '../event.js';
import {
  evaluateExprFilters as govaluateExprFilters,
  type ExprFilter,
} from '../govaluate/index.js';
import type { LuaLimits } from '../transform/lua.sandbox.js';
import { evaluateContextFilter, evaluateTimeFilter } from './context-time.filter.js';
import { evaluateDataFilters } from './data.filter.js';
import type { EventDependencyFilter, FilterOutcome, LogicalOperator } from './filter.types.js';
import { evaluateScriptFilter } from './script.filter.js';

/** The `exprs` evaluator: govaluate by default, injectable for tests or alternatives. */
type ExprFiltersEvaluator = (
  list: readonly ExprFilter[] | undefined,
  data: unknown,
  op: LogicalOperator,
) => boolean;

export interface FilterOptions {
  /** The clock: used for the `time` filter when the event has no `time`, and for templates. */
  now: Date | (() => Date);
  exprEvaluator?: ExprFiltersEvaluator;
  luaLimits?: LuaLimits;
  /** `filtersLogicalOperator` of the dependency (`and` default). */
  filtersLogicalOperator?: LogicalOperator;
}

export interface FilterResult {
  passed: boolean;
  reason: string;
}

const defaultExprs: ExprFiltersEvaluator = (list, data, op) =>
  govaluateExprFilters(list, data, op === 'or' ? 'or' : 'and');

function runExprs(
  filters: EventDependencyFilter,
  data: unknown,
  ev: ExprFiltersEvaluator,
): FilterOutcome {
  if (!filters.exprs) return { passed: true, reason: 'no expr filters' };
  try {
    return ev(filters.exprs, data, filters.exprLogicalOperator ?? 'and')
      ? { passed: true, reason: 'exprs matched' }
      : {
          passed: false,
          reason: `exprs: ${filters.exprs.map((e) => JSON.stringify(e.expr)).join(filters.exprLogicalOperator === 'or' ? ' || ' : ' && ')} evaluated to false`,
        };
  } catch (e) {
    return { error: `exprs: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function eventTime(event: SensorEvent, now: Date): Date {
  const t = event.context?.time;
  if (t) {
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return now;
}

/** Evaluates all filters of a dependency against one event. Never throws. */
export function evaluateFilters(
  filters: EventDependencyFilter | undefined | null,
  event: SensorEvent,
  opts: FilterOptions,
): FilterResult {
  if (!filters) return { passed: true, reason: 'no filters' };
  const now =
    typeof opts.now === 'function'
      ? opts.now
      : (
          (d: Date) => () =>
            d
        )(opts.now);
  try {
    const outcomes: [string, boolean, FilterOutcome][] = [
      [
        'exprs',
        filters.exprs !== undefined,
        runExprs(filters, event.data, opts.exprEvaluator ?? defaultExprs),
      ],
      [
        'data',
        filters.data !== undefined,
        evaluateDataFilters(filters.data, event.data, filters.dataLogicalOperator, { now }),
      ],
      [
        'context',
        filters.context !== undefined,
        evaluateContextFilter(filters.context, event.context),
      ],
      [
        'time',
        filters.time !== undefined,
        evaluateTimeFilter(filters.time, eventTime(event, now())),
      ],
      [
        'script',
        !!filters.script,
        evaluateScriptFilter(filters.script, event.data, opts.luaLimits),
      ],
    ];
    const errors = outcomes
      .filter(([, , o]) => 'error' in o)
      .map(([, , o]) => (o as { error: string }).error);
    if (opts.filtersLogicalOperator === 'or') {
      // As Argo's filterEvent: a sub-filter that errors fails the whole filter, even when another passed.
      if (errors.length)
        return { passed: false, reason: errors.map((e) => `error: ${e}`).join('; ') };
      const hit = outcomes.find(([, configured, o]) => configured && 'passed' in o && o.passed);
      if (hit) return { passed: true, reason: (hit[2] as FilterResult).reason };
      const fails = outcomes
        .filter(([, configured, o]) => configured && 'passed' in o)
        .map(([, , o]) => (o as FilterResult).reason);
      return {
        passed: false,
        reason:
          [...errors.map((e) => `error: ${e}`), ...fails].join('; ') ||
          'no filter configured to pass (or)',
      };
    }
    if (errors.length)
      return { passed: false, reason: errors.map((e) => `error: ${e}`).join('; ') };
    const failed = outcomes.find(([, , o]) => 'passed' in o && !o.passed);
    if (failed) return { passed: false, reason: (failed[2] as FilterResult).reason };
    return { passed: true, reason: 'all filters passed' };
  } catch (e) {
    return { passed: false, reason: `error: ${e instanceof Error ? e.message : String(e)}` };
  }
}
