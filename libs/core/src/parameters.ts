import type { TriggerParameter } from '@ganglion/api';
import type { EventsByDependency } from './event.js';
import { getPath, setPath } from './paths.js';
import { renderInputTemplate, type ExecuteOptions } from './template/index.js';

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

/** Options for template rendering in `dataTemplate`/`contextTemplate` (clock, randomness, limits). */
export type ParameterOptions = Pick<ExecuteOptions, 'now' | 'randomBytes' | 'maxSteps' | 'maxOutput'>;

/**
 * Renders `dataTemplate`/`contextTemplate` with `.Input` = the event data or context, as Argo's
 * `getValueWithTemplate`. Returns `undefined` when the template fails or renders empty (or
 * `<no value>`), in which case Argo falls back to the key, then to `value`.
 */
function renderSourceTemplate(template: string, input: unknown, opts: ParameterOptions): { value?: string; error?: string } {
  try {
    const out = renderInputTemplate(template, input, opts);
    if (out === '' || out === '<no value>') return { error: `template rendered ${out === '' ? 'an empty string' : '<no value>'}` };
    return { value: out };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Resolves one parameter's source against the events. Resolution order (Argo §4): a template
 * (`contextTemplate`/`dataTemplate`, rendered with `.Input`) first, then the key, then `value`. Returns `undefined` when the
 * dependency has no event (e.g. the other side of `||`) and no `value` fallback is set:
 * Argo skips such a parameter rather than failing.
 */
export function resolveParameterSource(p: TriggerParameter, events: EventsByDependency, opts: ParameterOptions = {}): ResolvedValue | undefined {
  const src = p.src;
  const event = events[src.dependencyName];
  const fallback = (): ResolvedValue | undefined =>
    src.value !== undefined ? { kind: 'string', value: src.value } : undefined;
  if (!event) return fallback();
  let templateError: string | undefined;
  if (src.dataTemplate || src.contextTemplate) {
    // Context wins when both sides are configured, as in Argo's ResolveParamValue.
    const useContext = src.contextKey !== undefined || !!src.contextTemplate;
    const template = useContext ? src.contextTemplate : src.dataTemplate;
    if (template) {
      const r = renderSourceTemplate(template, useContext ? event.context : event.data, opts);
      if (r.value !== undefined) return src.useRawData ? { kind: 'raw', value: rawFromText(r.value) } : { kind: 'string', value: r.value };
      templateError = r.error;
    }
    const key = useContext ? src.contextKey : src.dataKey;
    if (key === undefined) {
      const f = fallback();
      if (f) return f;
      throw new ParameterError(
        `parameter for dest "${p.dest}": ${useContext ? 'contextTemplate' : 'dataTemplate'} failed (${templateError ?? 'no output'}) ` +
          `for the event of dependency "${src.dependencyName}" and no key or value fallback is set`,
      );
    }
  }
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
    `parameter for dest "${p.dest}": ${templateError ? `template failed (${templateError}), ` : ''}${src.dataKey !== undefined ? `dataKey "${src.dataKey}"` : `contextKey "${src.contextKey}"`} ` +
      `not found in the event of dependency "${src.dependencyName}" and no value fallback is set`,
  );
}

/** `useRawData` with a template: JSON text is inserted as JSON, anything else as a string. */
function rawFromText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Applies parameters to a JSON document in order (overwrite, append or prepend at `dest`). */
export function applyParameters(doc: unknown, params: readonly TriggerParameter[] | undefined, events: EventsByDependency, opts: ParameterOptions = {}): unknown {
  let out = doc;
  for (const p of params ?? []) {
    const resolved = resolveParameterSource(p, events, opts);
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
export function buildPayload(params: readonly TriggerParameter[] | undefined, events: EventsByDependency, opts: ParameterOptions = {}): unknown {
  return applyParameters({}, params, events, opts);
}
