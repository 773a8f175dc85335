import type { HTTPTrigger } from '@ganglion/api';
import { applyParameters, buildPayload, ParameterError } from '@ganglion/core';
import type { TriggerPlugin } from '../trigger.js';

/** Allowed methods (Argo `HTTPTrigger.method`, default POST). */
const METHODS = new Set(['GET', 'DELETE', 'PATCH', 'POST', 'PUT']);

/** Reads `policy.status.allow` (a list of status codes) from a trigger's policy, if set. */
function allowedStatuses(policy: unknown): number[] | undefined {
  if (typeof policy !== 'object' || policy === null) return undefined;
  const status = (policy as { status?: { allow?: unknown } }).status;
  return Array.isArray(status?.allow) ? status.allow.map(Number) : undefined;
}

/**
 * Argo's `http` trigger: the body is built from `payload[]` (an empty `dest` makes a value the
 * whole body), type-level `parameters` apply to the template itself (e.g. `url`). The action id
 * travels as the `Idempotency-Key` header. Success: a status in `policy.status.allow` when set,
 * otherwise any status below 500 (a 5xx is a failure and is retried).
 */
export function createHttpTrigger(fetchImpl: typeof fetch = fetch): TriggerPlugin<HTTPTrigger> {
  return {
    type: 'http',
    async execute(template, trigger, events, ctx) {
      let resolved: HTTPTrigger;
      let body: unknown;
      try {
        resolved = applyParameters(template, template.parameters, events) as HTTPTrigger;
        body = buildPayload(resolved.payload, events);
      } catch (err) {
        if (err instanceof ParameterError) return { ok: false, error: err.message, retryable: false };
        throw err;
      }
      const method = (resolved.method || 'POST').toUpperCase();
      if (!METHODS.has(method)) return { ok: false, error: `method ${method} is not allowed`, retryable: false };
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'Idempotency-Key': ctx.actionId,
        ...(resolved.headers ?? {}),
      };
      const timeoutMs = (resolved.timeout ?? 60) * 1000;
      let status: number;
      try {
        const res = await fetchImpl(resolved.url, {
          method,
          headers,
          ...(method === 'GET' ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        return { ok: false, error: `${method} ${resolved.url} failed: ${e.cause?.code ?? e.name}: ${e.message}`, retryable: true };
      }
      const allow = allowedStatuses(trigger.policy);
      const ok = allow ? allow.includes(status) : status < 500;
      return ok
        ? { ok: true, detail: `${method} ${resolved.url} → ${status}` }
        : { ok: false, error: `${method} ${resolved.url} → ${status}${allow ? ` (allowed: ${allow.join(', ')})` : ''}`, retryable: true };
    },
  };
}
