import type { TriggerParameter } from '@ganglion/api';
import type { EventsByDependency } from './event.js';
import { getPath, setPath } from './paths.js';
import { renderInputTemplate, type ExecuteOptions } from './template/index.js';

/**
 * Trigger parameters (`payload[]`, `parameters[]`): Argo's `TriggerParameter` semantics
 * (`pkg/sensors/triggers/params.go`). Values resolve to strings as gjson's `Result.String()`
 * does; `useRawData` inserts a key's non-string JSON value unquoted.
 */
export class ParameterError extends Error {}

/** A resolved parameter value: either a string, or a raw JSON value (`useRawData`). */
export type ResolvedValue = { kind: 'string'; value: string } | { kind: 'raw'; value: unknown };

/** gjson `Result.String()`: strings as is, other JSON values as their JSON text. */
function asGjsonString(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Options for template rendering in `dataTemplate`/`contextTemplate` (clock, randomness, limits). */
export type ParameterOptions = Pick<
  ExecuteOptions,
  'now' | 'randomBytes' | 'maxSteps' | 'maxOutput'
>;

/**
 * Renders `dataTemplate`/`contextTemplate` with `.Input` = the event data or context, as Argo's
 * `getValueWithTemplate`. Returns `undefined` when the template fails or renders empty (or
 * `<no value>`), in which case Argo falls back to the key, then to `value`.
 */
function renderSourceTemplate(
  template: string,
  input: unknown,
  opts: ParameterOptions,
): { value?: string; error?: string } {
  try {
    const out = renderInputTemplate(template, input, opts);
    if (out === '' || out === '<no value>')
      return { error: `template rendered ${out === '' ? 'an empty string' : '<no value>'}` };
    return { value: out };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** Whether a parameter source field is set in Argo's sense (Go's zero value `""` is unset). */
const given = (s: string | undefined): s is string => s !== undefined && s !== '';

/**
 * The bytes Argo's `json.Marshal(&event)` carries for `data` (`[]byte`, so base64): the JSON
 * text of a JSON payload, the text itself otherwise.
 */
function wholeEvent(event: { context: unknown; data: unknown }): string {
  const data =
    event.data === undefined || event.data === null
      ? null
      : Buffer.from(
          typeof event.data === 'string' ? event.data : JSON.stringify(event.data),
          'utf8',
        ).toString('base64');
  return JSON.stringify({ context: event.context, data });
}

/**
 * Resolves one parameter's source against the events, as Argo's `ResolveParamValue`:
 * - no key and no template: `value`, else the whole event as Argo's JSON of its `Event` (with
 *   `data` base64-encoded), always inserted as a string;
 * - the data side (`dataKey`/`dataTemplate`) wins over the context side when both are set;
 * - a template first (its result is always a string, even with `useRawData`), then the key
 *   (`useRawData` inserts a non-string JSON value unquoted), then `value`.
 * Returns `undefined` when the dependency has no event (e.g. the other side of `||`) and no
 * `value` fallback is set: Argo skips such a parameter rather than failing.
 */
export function resolveParameterSource(
  p: TriggerParameter,
  events: EventsByDependency,
  opts: ParameterOptions = {},
): ResolvedValue | undefined {
  const src = p.src;
  const event = events[src.dependencyName];
  const fallback = (): ResolvedValue | undefined =>
    src.value !== undefined ? { kind: 'string', value: src.value } : undefined;
  if (!event) return fallback();
  const useData = given(src.dataKey) || given(src.dataTemplate);
  const useContext = !useData && (given(src.contextKey) || given(src.contextTemplate));
  if (!useData && !useContext) return fallback() ?? { kind: 'string', value: wholeEvent(event) };
  const side = useData ? 'data' : 'context';
  const input = useData ? event.data : event.context;
  const template = useData ? src.dataTemplate : src.contextTemplate;
  const key = useData ? src.dataKey : src.contextKey;
  let templateError: string | undefined;
  if (given(template)) {
    const r = renderSourceTemplate(template, input, opts);
    if (r.value !== undefined) return { kind: 'string', value: r.value };
    templateError = r.error;
  }
  if (given(key)) {
    const v = getPath(input, key);
    if (v !== undefined)
      return src.useRawData && typeof v !== 'string'
        ? { kind: 'raw', value: v }
        : { kind: 'string', value: asGjsonString(v) };
  }
  const f = fallback();
  if (f) return f;
  throw new ParameterError(
    `parameter for dest "${p.dest}": ${templateError ? `${side}Template failed (${templateError})${given(key) ? ', ' : ' '}` : ''}${given(key) ? `${side}Key "${key}" not found ` : ''}` +
      `in the event of dependency "${src.dependencyName}" and no value fallback is set`,
  );
}

/** Applies parameters to a JSON document in order (overwrite, append or prepend at `dest`). */
export function applyParameters(
  doc: unknown,
  params: readonly TriggerParameter[] | undefined,
  events: EventsByDependency,
  opts: ParameterOptions = {},
): unknown {
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
export function buildPayload(
  params: readonly TriggerParameter[] | undefined,
  events: EventsByDependency,
  opts: ParameterOptions = {},
): unknown {
  return applyParameters({}, params, events, opts);
}
