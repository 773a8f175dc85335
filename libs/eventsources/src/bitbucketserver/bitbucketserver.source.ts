import type { BitbucketServerEventSource } from '@ganglion/api';
import { firstHeader, parseJsonBody, type PushEvent, type PushSource } from '../kit/push-source.js';
import { verifyPrefixedHmac } from '../kit/signatures.js';

/**
 * Argo's `bitbucketserver` event source: `X-Hub-Signature` (`sha256=<hex>`) verified with
 * `webhookSecret` in constant time (a short or malformed header is a 401, not a crash as in
 * Argo); events outside `events` ignored; with `oneEventPerChange` a `repo:refs_changed`
 * payload becomes one event per change. Data `{headers, body, metadata}`. Hook registration and
 * `skipBranchRefsChangedOnOpenPR` are not supported yet.
 */
export const bitbucketServerSource: PushSource<BitbucketServerEventSource> = {
  type: 'bitbucketserver',
  specKey: 'bitbucketserver',
  webhook: (config) => config.webhook,
  secrets: (config) => ({ webhookSecret: config.webhookSecret }),
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const secret = ctx.secrets['webhookSecret'];
    if (secret !== undefined && !verifyPrefixedHmac(firstHeader(request, 'X-Hub-Signature'), secret, request.body))
      return { kind: 'reject', status: 401, reason: 'X-Hub-Signature does not match the payload' };
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return parsed.outcome;
    const key = firstHeader(request, 'X-Event-Key');
    const events = ctx.config.events ?? [];
    if (key && events.length > 0 && !events.includes(key)) return { kind: 'accept', events: [], reply: { status: 200, body: `event ${key} is not subscribed; ignored` } };
    const requestId = firstHeader(request, 'X-Request-Id');
    const metadata = ctx.config.metadata ?? {};
    const body = parsed.value as { changes?: unknown[] } | null;
    if (ctx.config.oneEventPerChange && key === 'repo:refs_changed' && body && Array.isArray(body.changes)) {
      const out: PushEvent[] = body.changes.map((change, i) => ({
        data: { headers: request.header, body: { ...body, changes: [change] }, metadata },
        ...(requestId ? { naturalId: `${requestId}#${i}` } : {}),
      }));
      return { kind: 'accept', events: out };
    }
    return { kind: 'accept', events: [{ data: { headers: request.header, body: parsed.value, metadata }, ...(requestId ? { naturalId: requestId } : {}) }] };
  },
};
