/**
 * The Lua `script` filter, as Argo's `filterScript` (`pkg/sensors/dependencies/filter.go`):
 * the global `event` is the event data, and the script must return `true` to pass.
 */
import { runLua, type LuaLimits } from '../transform/lua.sandbox.js';
import type { FilterOutcome } from './filter.types.js';

export function evaluateScriptFilter(
  script: string | undefined,
  data: unknown,
  limits?: LuaLimits,
): FilterOutcome {
  if (!script) return { passed: true, reason: 'no script filter' };
  let json = data;
  if (typeof data === 'string') {
    try {
      json = JSON.parse(data);
    } catch {
      return { error: 'script: event data is not valid JSON' };
    }
  }
  try {
    const r = runLua(script, json, limits);
    return r === true
      ? { passed: true, reason: 'script returned true' }
      : { passed: false, reason: `script returned ${JSON.stringify(r) ?? 'nothing'}, not true` };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}
