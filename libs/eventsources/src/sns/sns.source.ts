import { createVerify } from 'node:crypto';
import type { SNSEventSource } from '@ganglion/api';
import {
  parseJsonBody,
  type Deactivate,
  type PushContext,
  type PushSource,
} from '../kit/push-source.js';
import { signV4 } from './sigv4.js';
import { metadataField } from '../kit/event-metadata.js';

/** An SNS HTTP(S) message envelope. https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html */
export interface SnsEnvelope {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
  SignatureVersion?: string;
  Signature?: string;
  SigningCertURL?: string;
}

/**
 * Where the URLs of an SNS message (`SigningCertURL`, `SubscribeURL`) may point: HTTPS on
 * `sns.<region>.amazonaws.com(.cn)`, matched against the URL's origin plus `/`.
 * `GANGLION_SNS_URL_PATTERN` replaces it (the tests point it at loopback); the runtime reads it
 * as `ctx.apiBase(SNS_URL_PATTERN, ...)`.
 */
export const SNS_URL_PATTERN = 'snsUrlPattern';
const DEFAULT_SNS_URL = '^https://sns\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/$';
/** How long fetching a signing certificate or confirming a subscription may take. */
const SNS_FETCH_TIMEOUT_MS = 10_000;

/** Why `url` is not an SNS URL `what` may be fetched from, or undefined when it is. */
function snsUrlProblem(what: string, url: string | undefined, pattern: string): string | undefined {
  if (!url) return `${what} missing`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${what} is not a URL`;
  }
  if (u.username || u.password || !new RegExp(pattern).test(`${u.origin}/`))
    return `${what} ${u.origin} is not an AWS SNS address`;
  return undefined;
}

/** The string SNS signs for a message, by type. */
export function snsStringToSign(m: SnsEnvelope): string {
  const keys =
    m.Type === 'Notification'
      ? [
          'Message',
          'MessageId',
          ...(m.Subject !== undefined ? ['Subject'] : []),
          'Timestamp',
          'TopicArn',
          'Type',
        ]
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys
    .map((k) => `${k}\n${String((m as unknown as Record<string, unknown>)[k] ?? '')}\n`)
    .join('');
}

/** Checks the certificate URL: HTTPS on an AWS SNS host (or `pattern`), a .pem path. */
export function checkSigningCertUrl(
  url: string | undefined,
  pattern = DEFAULT_SNS_URL,
): string | undefined {
  const problem = snsUrlProblem('SigningCertURL', url, pattern);
  if (problem) return problem;
  if (!new URL(url!).pathname.endsWith('.pem'))
    return `SigningCertURL ${url} is not an AWS SNS certificate URL`;
  return undefined;
}

/** Verifies an envelope's signature with a PEM certificate (SignatureVersion 1: SHA1, 2: SHA256). */
export function verifySnsSignature(m: SnsEnvelope, certPem: string): boolean {
  const algo =
    m.SignatureVersion === '2' ? 'RSA-SHA256' : m.SignatureVersion === '1' ? 'RSA-SHA1' : undefined;
  if (!algo || !m.Signature) return false;
  const v = createVerify(algo);
  v.update(snsStringToSign(m));
  try {
    return v.verify(certPem, m.Signature, 'base64');
  } catch {
    return false;
  }
}

const certCache = new Map<string, Promise<string>>();

/**
 * Subscribes `webhook.url` to `topicArn` (SNS `Subscribe`, SigV4 with `accessKey`/`secretKey`,
 * at `endpoint` or `https://sns.<region>.amazonaws.com/`), as Argo does on start; SNS then
 * sends the SubscriptionConfirmation the route confirms. Subscribing again is idempotent in
 * SNS. Without static keys (`roleARN`, instance roles) nothing is subscribed: subscribe the URL
 * with AWS tooling.
 */
async function subscribeSns(ctx: PushContext<SNSEventSource>): Promise<Deactivate | undefined> {
  const cfg = ctx.config;
  const accessKey = ctx.secrets['accessKey'];
  const secretKey = ctx.secrets['secretKey'];
  if (!cfg.webhook.url || !accessKey || !secretKey) return undefined;
  const url = new URL(cfg.endpoint || `https://sns.${cfg.region}.amazonaws.com/`);
  const body = new URLSearchParams({
    Action: 'Subscribe',
    Endpoint: cfg.webhook.url,
    Protocol: new URL(cfg.webhook.url).protocol.replace(':', ''),
    ReturnSubscriptionArn: 'true',
    TopicArn: cfg.topicArn,
    Version: '2010-03-31',
  }).toString();
  const headers = signV4({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
    region: cfg.region,
    service: 'sns',
    accessKey,
    secretKey,
    now: new Date(ctx.now()),
  });
  const res = await ctx.fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`SNS Subscribe: ${res.status} ${text.slice(0, 200)}`);
  ctx.logger.info('subscribed to the SNS topic', {
    topic: cfg.topicArn,
    subscription: /<SubscriptionArn>([^<]*)</.exec(text)?.[1],
  });
  return undefined;
}

/**
 * Argo's `sns` event source: the envelope must name the configured `topicArn`; with
 * `validateSignature` the signature is verified with the certificate from `SigningCertURL`,
 * whose host must be an AWS SNS host; `SubscriptionConfirmation` is confirmed by fetching
 * `SubscribeURL` (no event) only once its signature verified (always checked, unlike Argo) and
 * its host is an AWS SNS host, within 10 s; `Notification` publishes `{header, body: <envelope>, metadata}`
 * with the `MessageId` as the natural id. With static keys the URL is subscribed on start
 * ({@link subscribeSns}).
 */
export const snsSource: PushSource<SNSEventSource> = {
  type: 'sns',
  specKey: 'sns',
  webhook: (config) => config.webhook,
  secrets: (config) => ({ accessKey: config.accessKey, secretKey: config.secretKey }),
  activate: subscribeSns,
  filterExpression: (config) => config.filter?.expression,
  async handle(ctx, request) {
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return parsed.outcome;
    const m = parsed.value as SnsEnvelope;
    if (
      !m ||
      typeof m !== 'object' ||
      typeof m.Type !== 'string' ||
      typeof m.MessageId !== 'string'
    )
      return { kind: 'reject', status: 400, reason: 'body is not an SNS message' };
    if (ctx.config.topicArn && m.TopicArn !== ctx.config.topicArn)
      return {
        kind: 'reject',
        status: 403,
        reason: `message is for topic ${m.TopicArn}, not ${ctx.config.topicArn}`,
      };
    const pattern = ctx.apiBase(SNS_URL_PATTERN, DEFAULT_SNS_URL);
    // A subscription confirmation makes this process fetch a URL from the message: only a
    // message SNS signed may do that, whatever `validateSignature` says.
    if (ctx.config.validateSignature || m.Type === 'SubscriptionConfirmation') {
      if (!m.Signature) return { kind: 'reject', status: 401, reason: 'SNS message is not signed' };
      const bad = checkSigningCertUrl(m.SigningCertURL, pattern);
      if (bad) return { kind: 'reject', status: 401, reason: bad };
      let cert = certCache.get(m.SigningCertURL!);
      if (!cert) {
        cert = ctx
          .fetch(m.SigningCertURL!, { signal: AbortSignal.timeout(SNS_FETCH_TIMEOUT_MS) })
          .then((r) =>
            r.ok ? r.text() : Promise.reject(new Error(`certificate fetch: ${r.status}`)),
          );
        certCache.set(m.SigningCertURL!, cert);
        cert.catch(() => certCache.delete(m.SigningCertURL!));
      }
      let pem: string;
      try {
        pem = await cert;
      } catch (err) {
        return {
          kind: 'reject',
          status: 401,
          reason: `cannot fetch the signing certificate: ${(err as Error).message}`,
        };
      }
      if (!verifySnsSignature(m, pem))
        return { kind: 'reject', status: 401, reason: 'SNS message signature does not verify' };
    }
    if (m.Type === 'SubscriptionConfirmation') {
      const bad = snsUrlProblem('SubscribeURL', m.SubscribeURL, pattern);
      if (bad) return { kind: 'reject', status: 400, reason: bad };
      // A confirmation that cannot be made now is a 503: SNS delivers the message again
      // (found by the ingress fuzz suite: a 502, or a 500 when the call itself failed).
      let res: Response;
      try {
        res = await ctx.fetch(m.SubscribeURL!, {
          signal: AbortSignal.timeout(SNS_FETCH_TIMEOUT_MS),
        });
        await res.body?.cancel();
      } catch (err) {
        return {
          kind: 'reject',
          status: 503,
          reason: `confirming the subscription failed: ${(err as Error).message}`,
        };
      }
      if (!res.ok)
        return {
          kind: 'reject',
          status: 503,
          reason: `confirming the subscription failed: ${res.status}`,
        };
      ctx.logger.info('SNS subscription confirmed', { topic: m.TopicArn });
      return { kind: 'accept', events: [], reply: { status: 200, body: 'subscription confirmed' } };
    }
    if (m.Type !== 'Notification')
      return { kind: 'accept', events: [], reply: { status: 200, body: `${m.Type} acknowledged` } };
    return {
      kind: 'accept',
      events: [
        {
          data: { header: request.header, body: m, ...metadataField(ctx.config.metadata) },
          naturalId: m.MessageId,
        },
      ],
    };
  },
};
