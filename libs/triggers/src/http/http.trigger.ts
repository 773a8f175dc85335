import type { HTTPTrigger } from '@ganglion/api';
import { HttpClient } from '../common/http.client.js';
import {
  applyTypeParameters,
  failure,
  parameterString,
  payloadOf,
} from '../common/params.helper.js';
import { resolveSecret, resolveSecureHeaders, resolveTls } from '../common/secrets.helper.js';
import { judgeStatus } from '../common/status.policy.js';
import type { TriggerPlugin } from '../trigger.js';

/** Allowed methods (Argo `HTTPTrigger.method`, default POST). */
const METHODS = new Set(['GET', 'DELETE', 'PATCH', 'POST', 'PUT']);

/**
 * Argo's `http` trigger (`pkg/sensors/triggers/http/http.go`): type-level `parameters` apply to
 * the template (e.g. `url`), the body is built from `payload[]`, headers come from `headers`,
 * `secureHeaders` (Secrets/ConfigMaps resolved where the trigger runs), `dynamicHeaders` (event
 * values, `dest` = header name) and `basicAuth`; `tls` and `timeout` (seconds, default 60) apply
 * to the request. The action id travels as the `Idempotency-Key` header. Success is judged by
 * {@link judgeStatus}: a 5xx is a failure unless `policy.status.allow` lists it.
 */
export function createHttpTrigger(
  client: HttpClient = new HttpClient(),
): TriggerPlugin<HTTPTrigger> {
  return {
    type: 'http',
    async execute(template, trigger, events, ctx) {
      let what = `${template.method ?? 'POST'} ${template.url}`;
      try {
        const resolved = applyTypeParameters(template, events);
        const method = (resolved.method || 'POST').toUpperCase();
        what = `${method} ${resolved.url}`;
        if (!METHODS.has(method))
          return {
            ok: false,
            error: `method ${method} is not allowed (GET, DELETE, PATCH, POST, PUT)`,
            retryable: false,
          };
        const body = payloadOf(resolved.payload, events);
        const headers: Record<string, string> = {
          'Content-Type': 'application/json',
          'Idempotency-Key': ctx.actionId,
          ...(resolved.headers ?? {}),
          ...(await resolveSecureHeaders(ctx, resolved.secureHeaders)),
        };
        for (const p of resolved.dynamicHeaders ?? []) {
          const v = parameterString(p, events);
          if (v !== undefined) headers[p.dest] = v;
        }
        if (resolved.basicAuth) {
          const user = resolved.basicAuth.username
            ? await resolveSecret(ctx, resolved.basicAuth.username)
            : '';
          const pass = resolved.basicAuth.password
            ? await resolveSecret(ctx, resolved.basicAuth.password)
            : '';
          headers['Authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
        }
        const hasBody = (resolved.payload?.length ?? 0) > 0 || method !== 'GET';
        const res = await client.request({
          method,
          url: resolved.url,
          headers,
          ...(hasBody
            ? { body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) }
            : {}),
          timeoutMs: (resolved.timeout && resolved.timeout > 0 ? resolved.timeout : 60) * 1000,
          ...(resolved.tls ? { tls: await resolveTls(ctx, resolved.tls) } : {}),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
        return judgeStatus(res.status, trigger.policy, what);
      } catch (err) {
        return failure(err, what);
      }
    },
    async close() {
      client.close();
    },
  };
}
