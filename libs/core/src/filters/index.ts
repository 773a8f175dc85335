/** Sensor dependency filters with Argo Events semantics. */
export { evaluateFilters } from './filters.evaluator.js';
export { evaluateTimeFilter } from './context-time.filter.js';
export type { EventDependencyFilter } from './filter.types.js';
