/** Dependency transforms (jq, Lua) and the sandboxed engines behind them. */
export { applyTransform, TransformError, type EventDependencyTransformer, type TransformOptions } from './transform.js';
export { compileJq, runJq, jqCompare, JqError, BUILTINS as JQ_BUILTINS, type JqProgram, type JqLimits } from './jq.engine.js';
export { runLua, LuaError, type LuaLimits } from './lua.sandbox.js';
