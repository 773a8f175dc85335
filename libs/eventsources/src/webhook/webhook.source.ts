import type { WebhookEventSource } from '@ganglion/api';
import {
  mediaType,
  valuesMap,
  type IncomingRequest,
  type PushOutcome,
  type PushSource,
} from '../kit/push-source.js';
import { metadataField } from '../kit/event-metadata.js';

/** Content types whose body is text, kept as a string in the event (Argo accepts only JSON). */
const TEXT = /^(text\/|application\/(xml|yaml|x-yaml|x-ndjson|graphql)$|.*\+xml$)/;

/**
 * The request body as event data: the query map for GET, the form map for form posts, else the
 * JSON value whatever the Content-Type (as Argo); a body that is not JSON is a 400 for JSON (or
 * unspecified) content types, a string for text types and base64 (Go's `[]byte`) otherwise.
 */
function webhookBody(
  request: IncomingRequest,
): { ok: true; body: unknown } | { ok: false; outcome: PushOutcome } {
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD')
    return { ok: true, body: valuesMap(request.url.searchParams) };
  const type = mediaType(request);
  if (type === 'application/x-www-form-urlencoded')
    return { ok: true, body: valuesMap(new URLSearchParams(request.body.toString('utf8'))) };
  if (request.body.length === 0 && method !== 'POST') return { ok: true, body: null };
  // As Argo: any body is JSON first, whatever its Content-Type.
  try {
    return { ok: true, body: JSON.parse(request.body.toString('utf8')) };
  } catch (err) {
    if (type === '' || type === 'application/json' || type.endsWith('+json'))
      return {
        ok: false,
        outcome: {
          kind: 'reject',
          status: 400,
          reason: `request body is not valid JSON: ${(err as Error).message}`,
        },
      };
  }
  // Beyond Argo (which answers 400): a body that is not JSON is kept, as text or base64.
  if (TEXT.test(type)) return { ok: true, body: request.body.toString('utf8') };
  return { ok: true, body: request.body.toString('base64') };
}

/**
 * Argo's `webhook` event source (`pkg/eventsources/sources/webhook/start.go`). Event data is
 * `{header, body, metadata}` (`metadata` only when set, Go's `omitempty`): for GET the body is
 * the query map, for form posts the form map, otherwise the body parsed as JSON whatever its
 * Content-Type. Beyond Argo: any method the route names, and non-JSON bodies of non-JSON content
 * types (text as a string, binary as base64) instead of a 400.
 */
export const webhookSource: PushSource<WebhookEventSource> = {
  type: 'webhook',
  specKey: 'webhook',
  webhook: (config) => config,
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const parsed = webhookBody(request);
    if (!parsed.ok) return parsed.outcome;
    return {
      kind: 'accept',
      events: [
        {
          data: {
            header: request.header,
            body: parsed.body,
            ...metadataField(ctx.config.metadata),
          },
        },
      ],
    };
  },
};
