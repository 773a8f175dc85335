import type { WebhookContext, WebhookEventSource } from '@ganglion/api';
import type { IncomingRequest, PushOutcome, PushSource } from '../kit/push-source.js';

/** Go's `url.Values` as JSON: every key maps to the list of its values. */
function valuesMap(params: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of params) (out[k] ??= []).push(v);
  return out;
}

/**
 * Argo's `webhook` event source (`pkg/eventsources/sources/webhook/start.go`). Event data is
 * `{header, body, metadata}`: for GET the body is the query map, for form posts the form map,
 * otherwise the request body, which must be JSON.
 */
export const webhookSource: PushSource<WebhookEventSource> = {
  type: 'webhook',
  context(config: WebhookEventSource): WebhookContext {
    return config;
  },
  handle(config: WebhookEventSource, request: IncomingRequest): PushOutcome {
    let body: unknown;
    const contentType = (request.header['Content-Type']?.[0] ?? '').split(';')[0]!.trim().toLowerCase();
    if (request.method.toUpperCase() === 'GET') body = valuesMap(request.url.searchParams);
    else if (contentType === 'application/x-www-form-urlencoded')
      body = valuesMap(new URLSearchParams(request.body.toString('utf8')));
    else {
      const text = request.body.toString('utf8');
      try {
        body = JSON.parse(text);
      } catch (err) {
        return { kind: 'reject', status: 400, reason: `request body is not valid JSON: ${(err as Error).message}` };
      }
    }
    return { kind: 'event', data: { header: request.header, body, metadata: config.metadata ?? {} } };
  },
};
