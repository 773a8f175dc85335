import { createHash, createHmac } from 'node:crypto';

export interface SigV4Request {
  method: string;
  url: URL;
  /** Headers to sign besides `host` and `x-amz-date` (lower-case names). */
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
  now: Date;
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string): Buffer =>
  createHmac('sha256', key).update(s, 'utf8').digest();
const encode = (s: string): string =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/**
 * AWS Signature Version 4 headers for a request (`Authorization`, `X-Amz-Date`, and
 * `X-Amz-Security-Token` with a session token).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
export function signV4(r: SigV4Request): Record<string, string> {
  const amzDate = r.now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...r.headers, host: r.url.host, 'x-amz-date': amzDate };
  if (r.sessionToken) headers['x-amz-security-token'] = r.sessionToken;
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    lower[k.toLowerCase()] = v.trim().replace(/\s+/g, ' ');
  const query = [...r.url.searchParams]
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [
    r.method.toUpperCase(),
    r.url.pathname || '/',
    query,
    names.map((n) => `${n}:${lower[n]}\n`).join(''),
    names.join(';'),
    sha256(r.body),
  ].join('\n');
  const scope = `${day}/${r.region}/${r.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${r.secretKey}`, day), r.region), r.service),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  const out: Record<string, string> = {
    ...r.headers,
    'X-Amz-Date': amzDate,
    Authorization: `AWS4-HMAC-SHA256 Credential=${r.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
  if (r.sessionToken) out['X-Amz-Security-Token'] = r.sessionToken;
  return out;
}
