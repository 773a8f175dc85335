export { ExprSyntaxError, ExprEvalError, ExprFunction, type ExprNode, type ExprValue, type ExprMap } from './expr.ast.js';
export { parseExpr, MAX_EXPR_LENGTH } from './expr.parser.js';
export { compileExpr, evaluateExpr, type CompiledExpr, type EvalOptions } from './expr.evaluator.js';
export { evaluateFilterExpression, normaliseFilterData, filterEnvironment, expandDottedKeys } from './event-filter.js';
export { SPRIG_FUNCTIONS, ARGO_FUNCTIONS, BUILTINS as EXPR_BUILTINS } from './expr.functions.js';
export { goJson, goString, goFloat } from './expr.values.js';
export { compileRe2, re2Find, RegexSyntaxError } from './re2.util.js';
