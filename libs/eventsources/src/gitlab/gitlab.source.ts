import type { GitlabEventSource } from '@ganglion/api';
import { secretsEqual } from '../kit/http-ingress.js';
import {
  firstHeader,
  parseJsonBody,
  type Deactivate,
  type PushContext,
  type PushSource,
} from '../kit/push-source.js';
import { deleteHooks, RestClient } from '../kit/rest-client.js';
import { metadataField } from '../kit/event-metadata.js';

/** `X-Gitlab-Event` header values by the `events` name Argo's GitLab source takes. */
const GITLAB_EVENTS: Record<string, { header: string; flag: string }> = {
  PushEvents: { header: 'Push Hook', flag: 'push_events' },
  TagPushEvents: { header: 'Tag Push Hook', flag: 'tag_push_events' },
  IssuesEvents: { header: 'Issue Hook', flag: 'issues_events' },
  ConfidentialIssuesEvents: {
    header: 'Confidential Issue Hook',
    flag: 'confidential_issues_events',
  },
  MergeRequestsEvents: { header: 'Merge Request Hook', flag: 'merge_requests_events' },
  NoteEvents: { header: 'Note Hook', flag: 'note_events' },
  ConfidentialNoteEvents: { header: 'Confidential Note Hook', flag: 'confidential_note_events' },
  JobEvents: { header: 'Job Hook', flag: 'job_events' },
  PipelineEvents: { header: 'Pipeline Hook', flag: 'pipeline_events' },
  WikiPageEvents: { header: 'Wiki Page Hook', flag: 'wiki_page_events' },
  DeploymentEvents: { header: 'Deployment Hook', flag: 'deployment_events' },
  ReleasesEvents: { header: 'Release Hook', flag: 'releases_events' },
};

/**
 * Project and group hooks for `webhook.url` through the GitLab REST API (v4) at
 * `gitlabBaseURL`, created or updated on activation, deleted on finish when asked.
 */
async function registerGitlabHooks(
  ctx: PushContext<GitlabEventSource>,
): Promise<Deactivate | undefined> {
  const cfg = ctx.config;
  const token = ctx.secrets['accessToken'];
  if (!cfg.webhook.url || !token || !cfg.gitlabBaseURL) return undefined;
  const api = new RestClient(
    new URL(
      'api/v4/',
      cfg.gitlabBaseURL.endsWith('/') ? cfg.gitlabBaseURL : `${cfg.gitlabBaseURL}/`,
    ).toString(),
    () => ({ 'PRIVATE-TOKEN': token }),
    ctx.fetch,
    'GitLab',
  );
  const flags: Record<string, unknown> = {
    url: cfg.webhook.url,
    enable_ssl_verification: cfg.enableSSLVerification ?? false,
  };
  if (ctx.secrets['secretToken']) flags['token'] = ctx.secrets['secretToken'];
  for (const e of cfg.events) {
    const known = GITLAB_EVENTS[e];
    if (known) flags[known.flag] = true;
  }
  const owners = [
    ...[...(cfg.projects ?? []), ...(cfg.projectID ? [cfg.projectID] : [])].map(
      (p) => `projects/${encodeURIComponent(p)}/hooks`,
    ),
    ...(cfg.groups ?? []).map((g) => `groups/${encodeURIComponent(g)}/hooks`),
  ];
  const hooks: string[] = [];
  for (const path of owners) {
    const existing = (await api.call<{ id: number; url: string }[]>('GET', path)).find(
      (h) => h.url === cfg.webhook.url,
    );
    if (existing) {
      await api.call('PUT', `${path}/${existing.id}`, flags);
      hooks.push(`${path}/${existing.id}`);
    } else hooks.push(`${path}/${(await api.call<{ id: number }>('POST', path, flags)).id}`);
    ctx.logger.info('GitLab hook registered', { hook: hooks.at(-1) });
  }
  if (!cfg.deleteHookOnFinish) return undefined;
  return () => deleteHooks(api, hooks);
}

/**
 * Argo's `gitlab` event source: `X-Gitlab-Token` compared with `secretToken` in constant time
 * (Argo uses `!=`), events outside `events` ignored, data `{headers, body, metadata}`, and the
 * event id derived from GitLab's `X-Gitlab-Event-UUID`.
 */
export const gitlabSource: PushSource<GitlabEventSource> = {
  type: 'gitlab',
  specKey: 'gitlab',
  webhook: (config) => config.webhook,
  authSecrets: ['secretToken'],
  secrets: (config) => ({ secretToken: config.secretToken, accessToken: config.accessToken }),
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const secret = ctx.secrets['secretToken'];
    if (secret !== undefined && !secretsEqual(firstHeader(request, 'X-Gitlab-Token') ?? '', secret))
      return {
        kind: 'reject',
        status: 401,
        reason: 'X-Gitlab-Token does not match the secret token',
      };
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return parsed.outcome;
    const header = firstHeader(request, 'X-Gitlab-Event');
    const wanted = ctx.config.events ?? [];
    const known = Object.entries(GITLAB_EVENTS).find(([, v]) => v.header === header);
    if (known && wanted.length > 0 && !wanted.includes(known[0]))
      return {
        kind: 'accept',
        events: [],
        reply: { status: 200, body: `event ${header} is not subscribed; ignored` },
      };
    const uuid =
      firstHeader(request, 'X-Gitlab-Event-Uuid') ?? firstHeader(request, 'X-Gitlab-Webhook-Uuid');
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
  activate: registerGitlabHooks,
};
