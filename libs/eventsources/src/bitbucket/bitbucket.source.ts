import type { BitbucketEventSource } from '@ganglion/api';
import {
  firstHeader,
  parseJsonBody,
  type Deactivate,
  type PushContext,
  type PushSource,
} from '../kit/push-source.js';
import { deleteHooks, RestClient } from '../kit/rest-client.js';
import { metadataField } from '../kit/event-metadata.js';

/** Bitbucket Cloud's API (`GANGLION_BITBUCKET_API_URL` overrides it). */
const BITBUCKET_API = 'https://api.bitbucket.org/2.0/';

/**
 * Repository hooks for `webhook.url` through the Bitbucket Cloud API (basic auth with an app
 * password, or `oauthToken`), created or updated by URL; deleted with `deleteHookOnFinish` when
 * the event is deleted.
 */
async function registerBitbucketHooks(
  ctx: PushContext<BitbucketEventSource>,
): Promise<Deactivate | undefined> {
  const cfg = ctx.config;
  const { username, password, oauthToken } = ctx.secrets;
  const auth = oauthToken
    ? `Bearer ${oauthToken}`
    : username !== undefined && password !== undefined
      ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
      : undefined;
  if (!cfg.webhook.url || !auth) return undefined;
  const api = new RestClient(
    ctx.apiBase('bitbucket', BITBUCKET_API),
    () => ({ Authorization: auth }),
    ctx.fetch,
    'Bitbucket',
  );
  const repos = [
    ...(cfg.repositories ?? []),
    ...(cfg.owner && cfg.repositorySlug
      ? [{ owner: cfg.owner, repositorySlug: cfg.repositorySlug }]
      : []),
  ];
  const spec = {
    description: `ganglion ${ctx.namespace}/${ctx.eventSourceName}:${ctx.eventName}`,
    url: cfg.webhook.url,
    active: true,
    events: cfg.events?.length ? cfg.events : ['repo:push'],
  };
  const hooks: string[] = [];
  for (const r of repos) {
    const path = `repositories/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.repositorySlug)}/hooks`;
    const existing = (
      await api.call<{ values?: { uuid: string; url: string }[] }>('GET', path)
    ).values?.find((h) => h.url === cfg.webhook.url);
    const uuid = existing
      ? existing.uuid
      : (await api.call<{ uuid: string }>('POST', path, spec)).uuid;
    if (existing) await api.call('PUT', `${path}/${encodeURIComponent(uuid)}`, spec);
    hooks.push(`${path}/${encodeURIComponent(uuid)}`);
    ctx.logger.info('Bitbucket hook registered', { hook: hooks.at(-1) });
  }
  if (!cfg.deleteHookOnFinish) return undefined;
  return () => deleteHooks(api, hooks);
}

/**
 * Argo's `bitbucket` (Cloud) event source: data `{headers, body, metadata}`; events whose
 * `X-Event-Key` is not in `events` are ignored; `X-Request-UUID` makes the event id
 * deterministic. Bitbucket Cloud signs nothing Argo's spec can check: restrict the route at the
 * network level. With `auth` and `webhook.url`, repository hooks are registered.
 */
export const bitbucketSource: PushSource<BitbucketEventSource> = {
  type: 'bitbucket',
  specKey: 'bitbucket',
  webhook: (config) => config.webhook,
  secrets: (config) => ({
    username: config.auth?.basic?.username,
    password: config.auth?.basic?.password,
    oauthToken: config.auth?.oauthToken,
  }),
  activate: registerBitbucketHooks,
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
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
    const uuid = firstHeader(request, 'X-Request-Uuid');
    return {
      kind: 'accept',
      events: [
        {
          data: {
            headers: request.header,
            body: parsed.value,
            ...metadataField(ctx.config.metadata),
          },
          ...(uuid ? { naturalId: uuid } : {}),
        },
      ],
    };
  },
};
