/**
 * Sensor dependency filter shapes, mirroring Argo's `EventDependencyFilter`
 * (`pkg/apis/sensor/v1alpha1/sensor_types.go`). libs/api types `filters` as `unknown`; these
 * are the structural types the evaluator accepts.
 */
import type { ExprFilter } from '../govaluate/index.js';

export type LogicalOperator = 'and' | 'or' | '';
type Comparator = '>=' | '>' | '=' | '!=' | '<' | '<=' | '';

/** `DataFilter`: a gjson path, a JSON type, values (OR-ed), a comparator and an optional template. */
export interface DataFilter {
  path: string;
  type: 'bool' | 'number' | 'string' | string;
  value: string[];
  comparator?: Comparator | string;
  template?: string;
}

/** `EventContext` filter: exact match on each non-empty field. */
export interface ContextFilter {
  type?: string;
  subject?: string;
  source?: string;
  datacontenttype?: string;
  [field: string]: unknown;
}

/** `TimeFilter`: `hh:mm:ss` window, start inclusive, stop exclusive, wrapping midnight. */
export interface TimeFilter {
  start: string;
  stop: string;
  timezone?: string;
}

export interface EventDependencyFilter {
  time?: TimeFilter;
  context?: ContextFilter;
  data?: DataFilter[];
  exprs?: ExprFilter[];
  dataLogicalOperator?: LogicalOperator;
  exprLogicalOperator?: LogicalOperator;
  script?: string;
}

/** The result of one filter kind: pass/fail, or an error (which fails in `and` mode). */
export type FilterOutcome = { passed: boolean; reason: string } | { error: string };
