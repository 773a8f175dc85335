import type { GithubEventSource } from '@ganglion/api';
import { firstHeader, mediaType, type PushSource } from '../kit/push-source.js';
import { verifyPrefixedHmac } from '../kit/signatures.js';
import { registerGithubHooks } from './github.hooks.js';
import { githubRepositories } from './github.repositories.js';
import { metadataField } from '../kit/event-metadata.js';

/** Whether a payload comes from a configured repository or organization (anything, when none are). */
function fromConfiguredPlace(config: GithubEventSource, body: Record<string, unknown>): boolean {
  const repos = githubRepositories(config);
  const orgs = config.organizations ?? [];
  if (repos.length === 0 && orgs.length === 0) return true;
  const repo = body['repository'] as
    { full_name?: string; name?: string; owner?: { login?: string } } | undefined;
  const org = (body['organization'] as { login?: string } | undefined)?.login;
  const owner = repo?.owner?.login ?? org;
  if (
    repo?.full_name &&
    repos.some((r) => `${r.owner}/${r.name}`.toLowerCase() === repo.full_name!.toLowerCase())
  )
    return true;
  if (owner && orgs.some((o) => o.toLowerCase() === owner.toLowerCase())) return true;
  if (org && orgs.some((o) => o.toLowerCase() === org.toLowerCase())) return true;
  // Organization-level events without a repository (e.g. membership) for a configured org.
  return !repo && !org ? true : false;
}

/**
 * Argo's `github` event source (`pkg/eventsources/sources/github`). Verifies
 * `X-Hub-Signature-256` (or `X-Hub-Signature`, sha1) with `webhookSecret` in constant time,
 * accepts JSON and form (`payload=`) deliveries, filters by the configured
 * repositories/organizations (not by `events`, which, as in Argo, only shapes the registered
 * hook), and publishes `{headers, body, metadata}` where `body` is the payload with
 * `X-GitHub-Event` and `X-GitHub-Delivery` added ("" when the header is missing, as in Argo). The delivery id makes the event
 * id deterministic, so GitHub's redeliveries are recognisable.
 */
export const githubSource: PushSource<GithubEventSource> = {
  type: 'github',
  specKey: 'github',
  webhook: (config) => config.webhook,
  authSecrets: ['webhookSecret'],
  secrets: (config) => ({
    webhookSecret: config.webhookSecret,
    apiToken: config.apiToken,
    appPrivateKey: config.githubApp?.privateKey,
  }),
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const secret = ctx.secrets['webhookSecret'];
    if (secret) {
      const sig =
        firstHeader(request, 'X-Hub-Signature-256') ?? firstHeader(request, 'X-Hub-Signature');
      if (!sig)
        return { kind: 'reject', status: 401, reason: 'missing X-Hub-Signature-256 signature' };
      if (!verifyPrefixedHmac(sig, secret, request.body))
        return { kind: 'reject', status: 401, reason: 'payload signature check failed' };
    }
    // As Argo: a missing header gives the key "" (Go's Header.Get).
    const eventType = firstHeader(request, 'X-Github-Event') ?? '';
    const delivery = firstHeader(request, 'X-Github-Delivery');
    let text = request.body.toString('utf8');
    if (mediaType(request) === 'application/x-www-form-urlencoded') {
      const payload = new URLSearchParams(text).get('payload');
      if (payload === null)
        return { kind: 'reject', status: 400, reason: 'form delivery without a payload field' };
      text = payload;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return {
        kind: 'reject',
        status: 400,
        reason: `payload is not valid JSON: ${(err as Error).message}`,
      };
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return { kind: 'reject', status: 400, reason: 'payload is not a JSON object' };
    // `events` only says which events a registered hook subscribes to, as in Argo: a delivery of
    // another type (from a hook configured by hand) is published, not dropped.
    if (!fromConfiguredPlace(ctx.config, body as Record<string, unknown>))
      return {
        kind: 'accept',
        events: [],
        reply: { status: 200, body: 'repository or organization is not configured; ignored' },
      };
    const out = {
      ...(body as Record<string, unknown>),
      'X-GitHub-Event': eventType,
      'X-GitHub-Delivery': delivery ?? '',
    };
    return {
      kind: 'accept',
      events: [
        {
          data: { headers: request.header, body: out, ...metadataField(ctx.config.metadata) },
          ...(delivery ? { naturalId: delivery } : {}),
        },
      ],
    };
  },
  activate: registerGithubHooks,
};
