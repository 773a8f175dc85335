import type { OpenWhiskTrigger } from '@ganglion/api';
import { HttpClient } from '../common/http.client.js';
import { applyTypeParameters, failure, payloadBytes } from '../common/params.helper.js';
import { resolveSecret } from '../common/secrets.helper.js';
import { judgeStatus } from '../common/status.policy.js';
import type { TriggerPlugin } from '../trigger.js';

/**
 * Argo's `openWhisk` trigger over the OpenWhisk REST API: a blocking invocation
 * `POST <host>/api/<version>/namespaces/<namespace>/actions/<actionName>?blocking=true` with the
 * payload as the action's parameters and `authToken` ("<uuid>:<key>") as basic auth. `host`
 * without a scheme means https. The response status is judged with `policy.status.allow`.
 */
export function createOpenWhiskTrigger(
  client: HttpClient = new HttpClient(),
): TriggerPlugin<OpenWhiskTrigger> {
  return {
    type: 'openWhisk',
    async execute(template, trigger, events, ctx) {
      const what = `invoke openwhisk action ${template.actionName}`;
      try {
        const t = applyTypeParameters(template, events);
        const base = /^https?:\/\//.test(t.host)
          ? t.host.replace(/\/+$/, '')
          : `https://${t.host.replace(/\/+$/, '')}`;
        const url = `${base}/api/${encodeURIComponent(t.version || 'v1')}/namespaces/${encodeURIComponent(t.namespace || '_')}/actions/${t.actionName
          .split('/')
          .map(encodeURIComponent)
          .join('/')}?blocking=true`;
        const headers: Record<string, string> = {
          'Content-Type': 'application/json',
          'Idempotency-Key': ctx.actionId,
        };
        if (t.authToken)
          headers['Authorization'] =
            `Basic ${Buffer.from((await resolveSecret(ctx, t.authToken)).trim()).toString('base64')}`;
        const res = await client.request({
          method: 'POST',
          url,
          headers,
          body: payloadBytes(t.payload, events),
          timeoutMs: 60_000,
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
