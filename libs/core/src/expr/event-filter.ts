/**
 * Argo's EventSource-level filter (`EventSourceFilter{expression}`, `pkg/eventsources/eventing.go
 * filterEvent`): the event data is decoded as a JSON object, top-level keys have `-` replaced by
 * `_`, dotted top-level keys are expanded into nested maps (bellows `Expand`), the helpers
 * `asInt`, `asFloat`, `toJson`, `jsonpath` and `sprig.*` are added, and the expression must
 * evaluate to a boolean.
 */
import { ExprEvalError, type ExprMap, type ExprValue } from './expr.ast.js';
import { evaluateExpr, type CompiledExpr, type EvalOptions } from './expr.evaluator.js';
import { ARGO_FUNCTIONS, SPRIG_FUNCTIONS } from './expr.functions.js';
import { fromJson, isMap, typeName } from './expr.values.js';

/**
 * bellows `Expand` over the top level: `{"a.b": 1}` → `{a: {b: 1}}`. Unlike Go's map iteration
 * (random order), a plain key deterministically wins over dotted keys that collide with it.
 */
export function expandDottedKeys(m: Readonly<ExprMap>): ExprMap {
  const out: ExprMap = {};
  for (const [k, v] of Object.entries(m)) if (!k.includes('.')) out[k] = v;
  const groups = new Map<string, ExprMap>();
  for (const [k, v] of Object.entries(m)) {
    const idx = k.indexOf('.');
    if (idx < 0) continue;
    const head = k.slice(0, idx);
    if (Object.prototype.hasOwnProperty.call(out, head) && !groups.has(head)) continue;
    let g = groups.get(head);
    if (!g) groups.set(head, (g = {}));
    g[k.slice(idx + 1)] = v;
  }
  for (const [head, g] of groups) out[head] = expandDottedKeys(g);
  return out;
}

/** The data map a filter expression sees (before helpers are added). */
export function normaliseFilterData(data: unknown): ExprMap {
  let decoded: unknown = data;
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    try {
      decoded = JSON.parse(text);
    } catch (e) {
      throw new ExprEvalError(`failed to unmarshal data, ${(e as Error).message}`);
    }
  }
  const value = fromJson(decoded);
  if (!isMap(value))
    throw new ExprEvalError(
      `failed to unmarshal data, cannot unmarshal ${typeName(value)} into a map`,
    );
  const params: ExprMap = {};
  for (const [k, v] of Object.entries(value)) params[k.replaceAll('-', '_')] = v;
  return expandDottedKeys(params);
}

/** Builds the full environment: normalised data plus Argo's helper functions. */
export function filterEnvironment(data: unknown): ExprMap {
  return { ...normaliseFilterData(data), sprig: SPRIG_FUNCTIONS, ...ARGO_FUNCTIONS };
}

/**
 * Evaluates an EventSource `filter.expression` over event data (a JSON string, bytes, or an
 * already-decoded object). Returns the boolean result; throws ExprEvalError for a runtime error
 * or a non-boolean result.
 */
export function evaluateFilterExpression(
  compiled: CompiledExpr,
  data: unknown,
  options?: EvalOptions,
): boolean {
  const result: ExprValue = evaluateExpr(compiled, filterEnvironment(data), options);
  if (typeof result !== 'boolean') {
    throw new ExprEvalError(
      `filter expression ${JSON.stringify(compiled.source)} must return a bool, got ${typeName(result)}`,
    );
  }
  return result;
}
