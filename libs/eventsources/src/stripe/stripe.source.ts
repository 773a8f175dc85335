import type { StripeEventSource } from '@ganglion/api';
import {
  firstHeader,
  parseJsonBody,
  type Deactivate,
  type PushContext,
  type PushSource,
} from '../kit/push-source.js';
import { hexDigestEqual, hmac } from '../kit/signatures.js';
import { metadataField } from '../kit/event-metadata.js';

/** Stripe's default tolerance for the signature timestamp (seconds). */
const STRIPE_TOLERANCE_SECONDS = 300;

/**
 * Verifies a `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=...]`): HMAC-SHA256 of
 * `<t>.<body>` with the endpoint secret, any v1 matching, timestamp within the tolerance.
 * https://docs.stripe.com/webhooks#verify-manually
 */
function verifyStripeSignature(
  header: string | undefined,
  body: Buffer,
  secret: string,
  nowMs: number,
  toleranceSeconds = STRIPE_TOLERANCE_SECONDS,
): string | undefined {
  if (!header) return 'missing Stripe-Signature header';
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d+$/.test(v)) t = Number(v);
    else if (k === 'v1') v1.push(v);
  }
  if (t === undefined || v1.length === 0) return 'malformed Stripe-Signature header';
  const expected = hmac('sha256', secret, `${t}.`, body);
  if (!v1.some((s) => hexDigestEqual(s, expected)))
    return 'Stripe-Signature does not match the payload';
  if (Math.abs(nowMs / 1000 - t) > toleranceSeconds)
    return 'Stripe-Signature timestamp is outside the tolerance';
  return undefined;
}

/** Stripe's API (`GANGLION_STRIPE_API_URL` overrides it). */
const STRIPE_API = 'https://api.stripe.com/v1/';

/**
 * With `createWebhook` and `apiKey`, registers `webhook.url` as a Stripe webhook endpoint for
 * `eventFilter` (all events when empty), or updates the endpoint with that URL, as Argo does.
 * Stripe reveals an endpoint's signing secret only in the creation answer: copy it from the
 * Stripe dashboard into the Secret `webhookSecret` names to have signatures verified.
 */
async function registerStripeEndpoint(
  ctx: PushContext<StripeEventSource>,
): Promise<Deactivate | undefined> {
  const cfg = ctx.config;
  const key = ctx.secrets['apiKey'];
  if (!cfg.createWebhook || !key || !cfg.webhook.url) return undefined;
  const base = ctx.apiBase('stripe', STRIPE_API);
  const call = async <T>(method: string, path: string, form?: URLSearchParams): Promise<T> => {
    const res = await ctx.fetch(new URL(path, base.endsWith('/') ? base : `${base}/`), {
      method,
      headers: {
        Authorization: `Bearer ${key}`,
        ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: form.toString() } : {}),
    });
    const text = await res.text();
    if (!res.ok)
      throw new Error(`Stripe API ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  };
  const form = new URLSearchParams();
  for (const e of cfg.eventFilter?.length ? cfg.eventFilter : ['*'])
    form.append('enabled_events[]', e);
  const list = await call<{ data: { id: string; url: string }[] }>(
    'GET',
    'webhook_endpoints?limit=100',
  );
  const existing = list.data.find((e) => e.url === cfg.webhook.url);
  if (existing) {
    await call('POST', `webhook_endpoints/${existing.id}`, form);
    ctx.logger.info('Stripe webhook endpoint updated', { endpoint: existing.id });
  } else {
    form.append('url', cfg.webhook.url);
    const created = await call<{ id: string }>('POST', 'webhook_endpoints', form);
    ctx.logger.info(
      'Stripe webhook endpoint created; copy its signing secret into webhookSecret to verify signatures',
      { endpoint: created.id },
    );
  }
  return undefined;
}

/**
 * Argo's `stripe` event source: data `{event, metadata}`, events outside `eventFilter`
 * ignored. Beyond Argo: with `webhookSecret` (the endpoint's `whsec_...` secret) the
 * `Stripe-Signature` header is verified; the Stripe event id makes the CloudEvent id
 * deterministic, so Stripe's retries are recognisable. `createWebhook` registers the endpoint.
 */
export const stripeSource: PushSource<StripeEventSource> = {
  type: 'stripe',
  specKey: 'stripe',
  webhook: (config) => config.webhook,
  authSecrets: ['webhookSecret'],
  secrets: (config) => ({ webhookSecret: config.webhookSecret, apiKey: config.apiKey }),
  activate: registerStripeEndpoint,
  handle(ctx, request) {
    const secret = ctx.secrets['webhookSecret'];
    if (secret !== undefined) {
      const problem = verifyStripeSignature(
        firstHeader(request, 'Stripe-Signature'),
        request.body,
        secret,
        ctx.now(),
      );
      if (problem) return { kind: 'reject', status: 401, reason: problem };
    }
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return parsed.outcome;
    const event = parsed.value as { id?: unknown; type?: unknown; object?: unknown } | null;
    if (!event || typeof event !== 'object' || typeof event.type !== 'string')
      return { kind: 'reject', status: 400, reason: 'body is not a Stripe event (no type)' };
    const filter = ctx.config.eventFilter ?? [];
    if (filter.length > 0 && !filter.includes(event.type) && !filter.includes('*'))
      return {
        kind: 'accept',
        events: [],
        reply: { status: 200, body: `event type ${event.type} is filtered out` },
      };
    return {
      kind: 'accept',
      events: [
        {
          data: { event, ...metadataField(ctx.config.metadata) },
          ...(typeof event.id === 'string' ? { naturalId: event.id } : {}),
        },
      ],
    };
  },
};
