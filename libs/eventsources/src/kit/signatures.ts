import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of a received hex digest with the expected one. */
export function hexDigestEqual(receivedHex: string, expected: Buffer): boolean {
  if (!/^[0-9a-fA-F]*$/.test(receivedHex) || receivedHex.length !== expected.length * 2)
    return false;
  return timingSafeEqual(Buffer.from(receivedHex, 'hex'), expected);
}

export function hmac(
  algorithm: 'sha1' | 'sha256',
  secret: string,
  ...parts: (string | Buffer)[]
): Buffer {
  const h = createHmac(algorithm, secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Verifies a `<algo>=<hex>` signature header (GitHub `X-Hub-Signature-256` / `X-Hub-Signature`,
 * Bitbucket Server `X-Hub-Signature`). Malformed headers are a mismatch, never a crash.
 */
export function verifyPrefixedHmac(
  header: string | undefined,
  secret: string,
  body: Buffer,
): boolean {
  if (!header) return false;
  const eq = header.indexOf('=');
  if (eq < 0) return false;
  const algo = header.slice(0, eq).toLowerCase();
  if (algo !== 'sha1' && algo !== 'sha256') return false;
  return hexDigestEqual(header.slice(eq + 1), hmac(algo, secret, body));
}
