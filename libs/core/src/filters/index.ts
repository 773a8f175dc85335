/** Sensor dependency filters with Argo Events semantics. */
export { evaluateFilters, type FilterOptions, type FilterResult, type ExprFiltersEvaluator } from './filters.evaluator.js';
export { evaluateDataFilters, gjsonString, parseGoBool } from './data.filter.js';
export { evaluateContextFilter, evaluateTimeFilter, secondsOfDay } from './context-time.filter.js';
export { evaluateScriptFilter } from './script.filter.js';
export type { DataFilter, ContextFilter, TimeFilter, EventDependencyFilter, FilterOutcome, LogicalOperator, Comparator } from './filter.types.js';
