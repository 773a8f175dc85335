export { parseGovaluate, GovaluateSyntaxError, MAX_GOVALUATE_LENGTH, type GvNode, type GvValue } from './govaluate.parser.js';
export { compileGovaluate, evaluateGovaluate, GovaluateEvalError, type CompiledGovaluate } from './govaluate.evaluator.js';
export {
  evaluateExprFilter,
  evaluateExprFilters,
  ExprFilterError,
  type ExprFilter,
  type ExprFilterField,
  type LogicalOperator as ExprLogicalOperator,
} from './expr-filter.js';
