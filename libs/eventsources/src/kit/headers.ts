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
