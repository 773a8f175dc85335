/** Dependency transforms (jq, Lua) and the sandboxed engines behind them. */
export { applyTransform, TransformError, type EventDependencyTransformer, type TransformOptions } from './transform.js';
export { JqError, type JqProgram, type JqLimits } from './jq/jq.ast.js';
export { compileJq } from './jq/jq.parser.js';
export { runJq } from './jq/jq.evaluator.js';
export { jqCompare } from './jq/jq.values.js';
export { BUILTINS as JQ_BUILTINS } from './jq/jq.builtins.js';
export { runLua, LuaError, type LuaLimits } from './lua.sandbox.js';
