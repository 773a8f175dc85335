/** Dependency transforms (jq, Lua) and the sandboxed engines behind them. */
export { applyTransform, TransformError } from './transform.js';
export { JqError } from './jq/jq.ast.js';
export { compileJq } from './jq/jq.parser.js';
export { runJq } from './jq/jq.evaluator.js';
export { runLua, LuaError } from './lua.sandbox.js';
