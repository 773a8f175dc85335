import { createSign } from 'node:crypto';
import type { GithubEventSource } from '@ganglion/api';
import type { Deactivate, PushContext } from '../kit/push-source.js';
import { deleteHooks, RestClient } from '../kit/rest-client.js';
import { githubRepositories } from './github.repositories.js';

const DEFAULT_BASE = 'https://api.github.com/';

interface Hook {
  id: number;
  config?: { url?: string };
}

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

/** A GitHub App JWT (RS256, 9 minutes), https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app */
export function githubAppJwt(appId: number, privateKeyPem: string, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ iat: now - 60, exp: now + 540, iss: String(appId) }));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${payload}`);
  return `${header}.${payload}.${base64url(signer.sign(privateKeyPem))}`;
}

/** A client of the GitHub REST API at a configurable base URL (GitHub Enterprise, or a local test server). */
function githubApi(base: string, token: () => Promise<string>, doFetch: typeof fetch): RestClient {
  return new RestClient(
    base,
    async () => ({
      Accept: 'application/vnd.github+json',
      Authorization: `Bearer ${await token()}`,
      'X-GitHub-Api-Version': '2022-11-28',
    }),
    doFetch,
    'GitHub',
  );
}

/**
 * Creates (or updates) the repository and organization hooks pointing at `webhook.url`, when
 * `apiToken` or `githubApp` and `webhook.url` are set, as Argo does; the returned function
 * deletes them when `deleteHookOnFinish` is set.
 */
export async function registerGithubHooks(
  ctx: PushContext<GithubEventSource>,
): Promise<Deactivate | undefined> {
  const cfg = ctx.config;
  const url = cfg.webhook.url;
  const apiToken = ctx.secrets['apiToken'];
  const appKey = ctx.secrets['appPrivateKey'];
  if (!url || (!apiToken && !(cfg.githubApp && appKey))) return undefined;
  const base = cfg.githubBaseURL || DEFAULT_BASE;
  let token: () => Promise<string>;
  if (apiToken) token = () => Promise.resolve(apiToken);
  else {
    let cached: { token: string; expires: number } | undefined;
    token = async () => {
      if (cached && cached.expires > ctx.now() + 60_000) return cached.token;
      const jwt = githubAppJwt(cfg.githubApp!.appID, appKey!, ctx.now());
      const app = githubApi(base, () => Promise.resolve(jwt), ctx.fetch);
      const r = await app.call<{ token: string; expires_at: string }>(
        'POST',
        `app/installations/${cfg.githubApp!.installationID}/access_tokens`,
      );
      cached = { token: r.token, expires: Date.parse(r.expires_at) };
      return r.token;
    };
  }
  const api = githubApi(base, token, ctx.fetch);
  const hookConfig = {
    url,
    content_type: cfg.contentType ?? 'json',
    insecure_ssl: cfg.insecure ? '1' : '0',
    ...(ctx.secrets['webhookSecret'] ? { secret: ctx.secrets['webhookSecret'] } : {}),
  };
  const spec = {
    name: 'web',
    active: cfg.active ?? true,
    events: cfg.events?.length ? cfg.events : ['*'],
    config: hookConfig,
  };
  const paths = [
    ...githubRepositories(cfg).map(
      (r) => `repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.name)}/hooks`,
    ),
    ...(cfg.organizations ?? []).map((o) => `orgs/${encodeURIComponent(o)}/hooks`),
  ];
  const created: string[] = [];
  for (const path of paths) {
    const hooks = await api.call<Hook[]>('GET', path);
    const existing = hooks.find((h) => h.config?.url === url);
    if (existing) {
      await api.call('PATCH', `${path}/${existing.id}`, {
        active: spec.active,
        events: spec.events,
        config: hookConfig,
      });
      created.push(`${path}/${existing.id}`);
      ctx.logger.info('GitHub hook updated', { hook: `${path}/${existing.id}` });
    } else {
      const hook = await api.call<Hook>('POST', path, spec);
      created.push(`${path}/${hook.id}`);
      ctx.logger.info('GitHub hook created', { hook: `${path}/${hook.id}` });
    }
  }
  if (!cfg.deleteHookOnFinish) return undefined;
  return () =>
    deleteHooks(api, created, (hook) => ctx.logger.info('GitHub hook deleted', { hook }));
}
