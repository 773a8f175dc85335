import type { IncomingHttpHeaders } from 'node:http';

/** Go's `textproto.CanonicalMIMEHeaderKey`: `content-type` → `Content-Type`. */
export function canonicalHeaderKey(name: string): string {
  let key = canonical.get(name);
  if (key === undefined) {
    key = canonicalize(name);
    if (canonical.size < 1000) canonical.set(name, key);
  }
  return key;
}

/** Canonical forms of the header names seen so far (a request repeats the same few). */
const canonical = new Map<string, string>();

function canonicalize(name: string): string {
  return name
    .split('-')
    .map((p) => (p.length ? p[0]!.toUpperCase() + p.slice(1).toLowerCase() : p))
    .join('-');
}

/** Node's distinct headers as Go's `http.Header` (`map[string][]string` with canonical keys). */
export function goHeader(
  headers: NodeJS.Dict<string[]> | IncomingHttpHeaders,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[canonicalHeaderKey(k)] = Array.isArray(v) ? v.slice() : [String(v)];
  }
  return out;
}

/** Argo's replacement for the Authorization header once a bearer token was verified. */
export const MASKED_AUTH = '*** Masked Auth Secret ***';

/**
 * Request headers that carry a credential, masked in event data by default (after the source
 * checked them): a bearer or basic login, cookies, GitLab's secret token, API keys. Signature
 * headers (`X-Hub-Signature-256`, `Stripe-Signature`, `X-Slack-Signature`) stay: an HMAC does
 * not reveal its key, and a consumer may verify it. `GANGLION_INGRESS_MASKED_HEADERS` replaces
 * the list (docs/eventsources/README.md, "Secrets in event data").
 */
export const DEFAULT_MASKED_HEADERS: readonly string[] = [
  'Authorization',
  'Proxy-Authorization',
  'Cookie',
  'X-Gitlab-Token',
  'X-Api-Key',
  'X-Auth-Token',
];

/** Replaces, in place, the values of the `names` headers (any case) with {@link MASKED_AUTH}. */
export function maskHeaders(header: Record<string, string[]>, names: ReadonlySet<string>): void {
  for (const key of Object.keys(header))
    if (names.has(key.toLowerCase())) header[key] = header[key]!.map(() => MASKED_AUTH);
}
