import type { BitbucketServerEventSource } from '@ganglion/api';
import {
  firstHeader,
  parseJsonBody,
  type Deactivate,
  type PushContext,
  type PushEvent,
  type PushSource,
} from '../kit/push-source.js';
import { deleteHooks, RestClient } from '../kit/rest-client.js';
import { verifyPrefixedHmac } from '../kit/signatures.js';
import { metadataField } from '../kit/event-metadata.js';

/**
 * Project and repository webhooks for `webhook.url` through the Bitbucket Server REST API
 * (`<bitbucketserverBaseURL>/api/1.0/...`, bearer `accessToken`), created or updated by URL;
 * deleted with `deleteHookOnFinish` when the event is deleted.
 */
async function registerBitbucketServerHooks(
  ctx: PushContext<BitbucketServerEventSource>,
): Promise<Deactivate | undefined> {
  const cfg = ctx.config;
  const token = ctx.secrets['accessToken'];
  if (!cfg.webhook.url || !token) return undefined;
  const api = new RestClient(
    `${cfg.bitbucketserverBaseURL.replace(/\/$/, '')}/api/1.0/`,
    () => ({ Authorization: `Bearer ${token}` }),
    ctx.fetch,
    'Bitbucket Server',
  );
  const repos = [
    ...(cfg.repositories ?? []),
    ...(cfg.projectKey && cfg.repositorySlug
      ? [{ projectKey: cfg.projectKey, repositorySlug: cfg.repositorySlug }]
      : []),
  ];
  const paths = [
    ...(cfg.projects ?? []).map((p) => `projects/${encodeURIComponent(p)}/webhooks`),
    ...repos.map(
      (r) =>
        `projects/${encodeURIComponent(r.projectKey)}/repos/${encodeURIComponent(r.repositorySlug)}/webhooks`,
    ),
  ];
  const spec = {
    name: `ganglion-${ctx.eventSourceName}-${ctx.eventName}`,
    url: cfg.webhook.url,
    events: cfg.events?.length ? cfg.events : ['repo:refs_changed'],
    active: true,
    configuration: ctx.secrets['webhookSecret'] ? { secret: ctx.secrets['webhookSecret'] } : {},
  };
  const hooks: string[] = [];
  for (const path of paths) {
    const existing = (
      await api.call<{ values?: { id: number; url: string }[] }>('GET', path)
    ).values?.find((h) => h.url === cfg.webhook.url);
    if (existing) {
      await api.call('PUT', `${path}/${existing.id}`, spec);
      hooks.push(`${path}/${existing.id}`);
    } else hooks.push(`${path}/${(await api.call<{ id: number }>('POST', path, spec)).id}`);
    ctx.logger.info('Bitbucket Server webhook registered', { hook: hooks.at(-1) });
  }
  if (!cfg.deleteHookOnFinish) return undefined;
  return () => deleteHooks(api, hooks);
}

/**
 * Argo's `bitbucketserver` event source: `X-Hub-Signature` (`sha256=<hex>`) verified with
 * `webhookSecret` in constant time (a short or malformed header is a 401, not a crash as in
 * Argo); events outside `events` ignored; with `oneEventPerChange` a `repo:refs_changed`
 * payload becomes one event per change. Data `{headers, body, metadata}`. Webhooks are registered
 * with `accessToken` and `webhook.url`. `skipBranchRefsChangedOnOpenPR` is not supported yet.
 */
export const bitbucketServerSource: PushSource<BitbucketServerEventSource> = {
  type: 'bitbucketserver',
  specKey: 'bitbucketserver',
  webhook: (config) => config.webhook,
  authSecrets: ['webhookSecret'],
  secrets: (config) => ({ webhookSecret: config.webhookSecret, accessToken: config.accessToken }),
  activate: registerBitbucketServerHooks,
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const secret = ctx.secrets['webhookSecret'];
    if (
      secret !== undefined &&
      !verifyPrefixedHmac(firstHeader(request, 'X-Hub-Signature'), secret, request.body)
    )
      return { kind: 'reject', status: 401, reason: 'X-Hub-Signature does not match the payload' };
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return parsed.outcome;
    const key = firstHeader(request, 'X-Event-Key');
    const events = ctx.config.events ?? [];
    if (key && events.length > 0 && !events.includes(key))
      return {
        kind: 'accept',
        events: [],
        reply: { status: 200, body: `event ${key} is not subscribed; ignored` },
      };
    const requestId = firstHeader(request, 'X-Request-Id');
    const metadata = metadataField(ctx.config.metadata);
    const body = parsed.value as { changes?: unknown[] } | null;
    if (
      ctx.config.oneEventPerChange &&
      key === 'repo:refs_changed' &&
      body &&
      Array.isArray(body.changes)
    ) {
      const out: PushEvent[] = body.changes.map((change, i) => ({
        data: { headers: request.header, body: { ...body, changes: [change] }, ...metadata },
        ...(requestId ? { naturalId: `${requestId}#${i}` } : {}),
      }));
      return { kind: 'accept', events: out };
    }
    return {
      kind: 'accept',
      events: [
        {
          data: { headers: request.header, body: parsed.value, ...metadata },
          ...(requestId ? { naturalId: requestId } : {}),
        },
      ],
    };
  },
};
