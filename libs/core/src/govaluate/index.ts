export { evaluateExprFilters, type ExprFilter } from './expr-filter.js';
