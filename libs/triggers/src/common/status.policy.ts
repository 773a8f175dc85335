import type { TriggerPolicy } from '@ganglion/api';
import type { TriggerResult } from '../trigger.js';

/** `policy.status.allow` (Argo `StatusPolicy`), if set. */
function allowedStatuses(policy: TriggerPolicy | undefined): number[] | undefined {
  const allow = policy?.status?.allow;
  return Array.isArray(allow) ? allow.map(Number) : undefined;
}

/** Statuses worth retrying when no policy says otherwise. */
const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * Judges a response status (http, awsLambda, openWhisk). With `policy.status.allow` set, a
 * listed status succeeds and any other fails. Without it, 2xx/3xx succeed, a 4xx fails without
 * retry (except 408, 425, 429) and a 5xx fails and is retried: unlike Argo, which counts every
 * status as success when no policy is set.
 */
export function judgeStatus(
  status: number,
  policy: TriggerPolicy | undefined,
  what: string,
): TriggerResult {
  const allow = allowedStatuses(policy);
  const retryable = status >= 500 || RETRYABLE_4XX.has(status);
  if (allow) {
    return allow.includes(status)
      ? { ok: true, detail: `${what} → ${status}` }
      : {
          ok: false,
          error: `${what} → ${status} (policy.status.allow: ${allow.join(', ')})`,
          retryable,
        };
  }
  return status < 400
    ? { ok: true, detail: `${what} → ${status}` }
    : { ok: false, error: `${what} → ${status}`, retryable };
}
