import type { TriggerParameter } from '@ganglion/api';
import {
  applyParameters,
  buildPayload,
  ParameterError,
  resolveParameterSource,
  type EventsByDependency,
} from '@ganglion/core';
import type { TriggerResult } from '../trigger.js';

/** A template or payload that cannot be built: retrying cannot help. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Applies a type's own `parameters` to its template (Argo `ApplyResourceParameters`). */
export function applyTypeParameters<T extends { parameters?: TriggerParameter[] }>(
  template: T,
  events: EventsByDependency,
): T {
  try {
    return applyParameters(template, template.parameters, events) as T;
  } catch (err) {
    if (err instanceof ParameterError) throw new TemplateError(err.message);
    throw err;
  }
}

/** Builds the body from `payload[]` (an empty `dest` makes a value the whole body). */
export function payloadOf(
  payload: TriggerParameter[] | undefined,
  events: EventsByDependency,
): unknown {
  try {
    return buildPayload(payload, events);
  } catch (err) {
    if (err instanceof ParameterError) throw new TemplateError(err.message);
    throw err;
  }
}

/** The payload serialised as the bytes Argo sends (JSON; a string value as is). */
export function payloadBytes(
  payload: TriggerParameter[] | undefined,
  events: EventsByDependency,
): Buffer {
  const body = payloadOf(payload, events);
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body ?? {}));
}

/** Resolves one parameter (e.g. a dynamic header) to a string; `undefined` when skipped. */
export function parameterString(
  p: TriggerParameter,
  events: EventsByDependency,
): string | undefined {
  try {
    const v = resolveParameterSource(p, events);
    if (!v) return undefined;
    return v.kind === 'string'
      ? v.value
      : typeof v.value === 'string'
        ? v.value
        : JSON.stringify(v.value);
  } catch (err) {
    if (err instanceof ParameterError) throw new TemplateError(err.message);
    throw err;
  }
}

/** Turns an error thrown while preparing or executing into an attempt result. */
export function failure(err: unknown, what: string): TriggerResult {
  if (err instanceof TemplateError)
    return { ok: false, error: `${what}: ${err.message}`, retryable: false };
  const e = err as Error & { code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  return { ok: false, error: `${what}: ${code ? `${code}: ` : ''}${e.message}`, retryable: true };
}
