import type { TriggerParameter } from '@ganglion/api';
import type { EventsByDependency } from './event.js';
import { getPath, setPath } from './paths.js';

/**
 * Trigger parameters (`payload[]`, `parameters[]`): Argo's `TriggerParameter` semantics
 * (`pkg/sensors/triggers/params.go`). Values resolve to strings as gjson's `Result.String()`
 * does; `useRawData` inserts JSON values unquoted.
 */
export class ParameterError extends Error {}

/** A resolved parameter value: either a string, or a raw JSON value (`useRawData`). */
export type ResolvedValue = { kind: 'string'; value: string } | { kind: 'raw'; value: unknown };

/** gjson `Result.String()`: strings as is, other JSON values as their JSON text. */
function asGjsonString(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Resolves one parameter's source against the events. Returns `undefined` when the
 * dependency has no event (e.g. the other side of `||`) and no `value` fallback is set:
 * Argo skips such a parameter rather than failing.
 */
export function resolveParameterSource(p: TriggerParameter, events: EventsByDependency): ResolvedValue | undefined {
  const src = p.src;
  const event = events[src.dependencyName];
  const fallback = (): ResolvedValue | undefined =>
    src.value !== undefined ? { kind: 'string', value: src.value } : undefined;
  if (!event) return fallback();
  if (src.dataTemplate || src.contextTemplate)
    throw new ParameterError(`src.dataTemplate/contextTemplate are not supported in this release (parameter dest "${p.dest}")`);
  if (src.contextKey === undefined && src.dataKey === undefined) {
    if (src.value !== undefined) return { kind: 'string', value: src.value };
    const whole = { context: event.context, data: event.data };
    return src.useRawData ? { kind: 'raw', value: whole } : { kind: 'string', value: JSON.stringify(whole) };
  }
  if (src.contextKey !== undefined) {
    const v = getPath(event.context, src.contextKey);
    if (v !== undefined) return src.useRawData ? { kind: 'raw', value: v } : { kind: 'string', value: asGjsonString(v) };
  }
  if (src.dataKey !== undefined) {
    const v = getPath(event.data, src.dataKey);
    if (v !== undefined) return src.useRawData ? { kind: 'raw', value: v } : { kind: 'string', value: asGjsonString(v) };
  }
  const f = fallback();
  if (f) return f;
  throw new ParameterError(
    `parameter for dest "${p.dest}": ${src.dataKey !== undefined ? `dataKey "${src.dataKey}"` : `contextKey "${src.contextKey}"`} ` +
      `not found in the event of dependency "${src.dependencyName}" and no value fallback is set`,
  );
}

/** Applies parameters to a JSON document in order (overwrite, append or prepend at `dest`). */
export function applyParameters(doc: unknown, params: readonly TriggerParameter[] | undefined, events: EventsByDependency): unknown {
  let out = doc;
  for (const p of params ?? []) {
    const resolved = resolveParameterSource(p, events);
    if (!resolved) continue;
    let value: unknown = resolved.value;
    const op = p.operation || 'overwrite';
    if (op !== 'overwrite') {
      const current = getPath(out, p.dest);
      const existing = current === undefined ? '' : asGjsonString(current);
      const incoming = asGjsonString(value);
      value = op === 'append' ? existing + incoming : incoming + existing;
    }
    out = setPath(out, p.dest, value);
  }
  return out;
}

/** Builds an HTTP-style payload (`payload[]`) starting from an empty JSON object. */
export function buildPayload(params: readonly TriggerParameter[] | undefined, events: EventsByDependency): unknown {
  return applyParameters({}, params, events);
}
