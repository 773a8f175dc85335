import type { BitbucketEventSource } from '@ganglion/api';
import { firstHeader, parseJsonBody, type PushSource } from '../kit/push-source.js';

/**
 * Argo's `bitbucket` (Cloud) event source: data `{headers, body, metadata}`; events whose
 * `X-Event-Key` is not in `events` are ignored; `X-Request-UUID` makes the event id
 * deterministic. Bitbucket Cloud signs nothing Argo can check: protect the route with
 * `webhook.authSecret`. Hook registration is not supported yet (register the hook in Bitbucket).
 */
export const bitbucketSource: PushSource<BitbucketEventSource> = {
  type: 'bitbucket',
  specKey: 'bitbucket',
  webhook: (config) => config.webhook,
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return parsed.outcome;
    const key = firstHeader(request, 'X-Event-Key');
    const events = ctx.config.events ?? [];
    if (key && events.length > 0 && !events.includes(key)) return { kind: 'accept', events: [], reply: { status: 200, body: `event ${key} is not subscribed; ignored` } };
    const uuid = firstHeader(request, 'X-Request-Uuid');
    return { kind: 'accept', events: [{ data: { headers: request.header, body: parsed.value, metadata: ctx.config.metadata ?? {} }, ...(uuid ? { naturalId: uuid } : {}) }] };
  },
};
