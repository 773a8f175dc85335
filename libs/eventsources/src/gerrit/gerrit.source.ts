import type { GerritEventSource } from '@ganglion/api';
import { parseJsonBody, type PushSource } from '../kit/push-source.js';

/**
 * Argo's `gerrit` event source: data `{headers, body, metadata}`; events whose `type`
 * (`patchset-created`, ...) is not in `events` are ignored. Gerrit's webhooks plugin signs
 * nothing: protect the route with `webhook.authSecret`. Hook registration is not supported yet.
 */
export const gerritSource: PushSource<GerritEventSource> = {
  type: 'gerrit',
  specKey: 'gerrit',
  webhook: (config) => config.webhook,
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return parsed.outcome;
    const type = (parsed.value as { type?: unknown } | null)?.type;
    const events = ctx.config.events ?? [];
    if (typeof type === 'string' && events.length > 0 && !events.includes(type)) return { kind: 'accept', events: [], reply: { status: 200, body: `event ${type} is not subscribed; ignored` } };
    return { kind: 'accept', events: [{ data: { headers: request.header, body: parsed.value, metadata: ctx.config.metadata ?? {} } }] };
  },
};
