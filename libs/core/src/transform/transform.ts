/**
 * Dependency transforms, as Argo's `applyTransform` (`pkg/sensors/dependencies/transform.go`):
 * `jq` (the first output must be a JSON object) or Lua `script` (must return a table; a table
 * with metatable `__is_array` becomes an array). The result replaces the event data.
 * Transforms run before filters.
 */
import { JqError, type JqLimits, type JqProgram } from './jq/jq.ast.js';
import { runJq } from './jq/jq.evaluator.js';
import { compileJq } from './jq/jq.parser.js';
import { LuaError, runLua, type LuaLimits } from './lua.sandbox.js';

export interface EventDependencyTransformer {
  jq?: string;
  script?: string;
}

export class TransformError extends Error {
  override name = 'TransformError';
}

interface TransformOptions {
  jqLimits?: JqLimits;
  luaLimits?: LuaLimits;
}

const jqCache = new Map<string, JqProgram>();

function compiled(src: string): JqProgram {
  let p = jqCache.get(src);
  if (!p) {
    p = compileJq(src);
    if (jqCache.size >= 500) jqCache.clear();
    jqCache.set(src, p);
  }
  return p;
}

function asJson(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data);
  } catch {
    throw new TransformError('event data is not valid JSON');
  }
}

/** Applies a transform and returns the new event data; no transform returns `data` unchanged. */
export function applyTransform(
  transform: EventDependencyTransformer | undefined | null,
  data: unknown,
  opts: TransformOptions = {},
): unknown {
  if (!transform || (!transform.jq && !transform.script)) return data;
  const input = asJson(data);
  if (transform.jq) {
    let out: unknown[];
    try {
      out = runJq(compiled(transform.jq), input, opts.jqLimits);
    } catch (e) {
      throw new TransformError(
        `jq transform failed: ${e instanceof JqError ? e.message : String(e)}`,
      );
    }
    const first = out[0];
    if (out.length === 0) throw new TransformError('jq transform produced no output');
    if (first === null || typeof first !== 'object' || Array.isArray(first))
      throw new TransformError(
        `jq transform must produce a JSON object, got ${Array.isArray(first) ? 'an array' : first === null ? 'null' : typeof first}`,
      );
    return first;
  }
  let r: unknown;
  try {
    r = runLua(transform.script!, input, opts.luaLimits);
  } catch (e) {
    throw new TransformError(
      `script transform failed: ${e instanceof LuaError ? e.message : String(e)}`,
    );
  }
  if (r === null || typeof r !== 'object')
    throw new TransformError(
      `script transform must return a table, got ${r === null ? 'nil' : typeof r}`,
    );
  return r;
}
