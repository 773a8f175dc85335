export { compileExpr, type CompiledExpr } from './expr.evaluator.js';
export { evaluateFilterExpression } from './event-filter.js';
export { compileRe2, re2Find } from './re2.util.js';
