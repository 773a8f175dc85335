import type { GerritEventSource } from '@ganglion/api';
import {
  parseJsonBody,
  type Deactivate,
  type PushContext,
  type PushSource,
} from '../kit/push-source.js';
import { deleteHooks, RestClient } from '../kit/rest-client.js';
import { metadataField } from '../kit/event-metadata.js';

/**
 * Remotes of Gerrit's webhooks plugin for `webhook.url`, one per project
 * (`PUT <gerritBaseURL>/a/config/server/webhooks~projects/<project>/remotes/<hookName>`, basic
 * auth), retried up to `maxTries`; deleted with `deleteHookOnFinish` when the event is deleted.
 * Gerrit prefixes JSON answers with `)]}'`, which is stripped.
 */
async function registerGerritHooks(
  ctx: PushContext<GerritEventSource>,
): Promise<Deactivate | undefined> {
  const cfg = ctx.config;
  const user = ctx.secrets['username'];
  const password = ctx.secrets['password'];
  if (!cfg.webhook.url || user === undefined || password === undefined) return undefined;
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const api = new RestClient(
    `${cfg.gerritBaseURL.replace(/\/$/, '')}/a/`,
    () => ({ Authorization: auth }),
    ctx.fetch,
    'Gerrit',
  );
  const name = cfg.hookName || `ganglion-${ctx.eventSourceName}-${ctx.eventName}`;
  const paths = cfg.projects.map(
    (p) =>
      `config/server/webhooks~projects/${encodeURIComponent(p)}/remotes/${encodeURIComponent(name)}`,
  );
  const tries = Math.max(1, cfg.maxTries ?? 5);
  for (const path of paths) {
    for (let attempt = 1; ; attempt++) {
      try {
        await api.call('PUT', path, {
          url: cfg.webhook.url,
          events: cfg.events,
          ...(cfg.sslVerify === false ? { ssl_verify: false } : {}),
        });
        break;
      } catch (err) {
        if (attempt >= tries) throw err;
      }
    }
    ctx.logger.info('Gerrit webhook registered', { hook: path });
  }
  if (!cfg.deleteHookOnFinish) return undefined;
  return () => deleteHooks(api, paths);
}

/**
 * Argo's `gerrit` event source: data `{headers, body, metadata}`; events whose `type`
 * (`patchset-created`, ...) is not in `events` are ignored. Gerrit's webhooks plugin signs
 * nothing: protect the route with `webhook.authSecret`. With `auth` and `webhook.url`, the webhooks
 * plugin's remotes are registered per project.
 */
export const gerritSource: PushSource<GerritEventSource> = {
  type: 'gerrit',
  specKey: 'gerrit',
  webhook: (config) => config.webhook,
  secrets: (config) => ({ username: config.auth?.username, password: config.auth?.password }),
  activate: registerGerritHooks,
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return parsed.outcome;
    const type = (parsed.value as { type?: unknown } | null)?.type;
    const events = ctx.config.events ?? [];
    if (typeof type === 'string' && events.length > 0 && !events.includes(type))
      return {
        kind: 'accept',
        events: [],
        reply: { status: 200, body: `event ${type} is not subscribed; ignored` },
      };
    return {
      kind: 'accept',
      events: [
        {
          data: {
            headers: request.header,
            body: parsed.value,
            ...metadataField(ctx.config.metadata),
          },
        },
      ],
    };
  },
};
