import type { SlackEventSource } from '@ganglion/api';
import { MASKED_AUTH } from '../kit/headers.js';
import { secretsEqual } from '../kit/http-ingress.js';
import { firstHeader, mediaType, type PushSource } from '../kit/push-source.js';
import { hexDigestEqual, hmac } from '../kit/signatures.js';

/** Slack's replay window for `X-Slack-Request-Timestamp` (seconds). */
const SLACK_TOLERANCE_SECONDS = 300;

/**
 * Verifies Slack's request signature: `X-Slack-Signature: v0=<hex>` = HMAC-SHA256 of
 * `v0:<X-Slack-Request-Timestamp>:<body>` with the signing secret.
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */
function verifySlackSignature(
  signature: string | undefined,
  timestamp: string | undefined,
  body: Buffer,
  secret: string,
  nowMs: number,
): string | undefined {
  if (!signature || !timestamp) return 'missing X-Slack-Signature or X-Slack-Request-Timestamp';
  if (
    !/^\d+$/.test(timestamp) ||
    Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_TOLERANCE_SECONDS
  )
    return 'X-Slack-Request-Timestamp is outside the tolerance';
  if (
    !signature.startsWith('v0=') ||
    !hexDigestEqual(signature.slice(3), hmac('sha256', secret, `v0:${timestamp}:`, body))
  )
    return 'X-Slack-Signature does not match';
  return undefined;
}

/**
 * Argo's `slack` event source: requests verified with the signing secret (and the events
 * verification `token`, when set); the Events API's `url_verification` challenge is answered;
 * `event_callback` publishes the inner event, interactions their `payload`, slash commands the
 * command's fields. Slack's `event_id` makes the event id deterministic.
 */
export const slackSource: PushSource<SlackEventSource> = {
  type: 'slack',
  specKey: 'slack',
  webhook: (config) => config.webhook,
  authSecrets: ['signingSecret', 'token'],
  secrets: (config) => ({ signingSecret: config.signingSecret, token: config.token }),
  filterExpression: (config) => config.filter?.expression,
  handle(ctx, request) {
    const signing = ctx.secrets['signingSecret'];
    if (signing !== undefined) {
      const problem = verifySlackSignature(
        firstHeader(request, 'X-Slack-Signature'),
        firstHeader(request, 'X-Slack-Request-Timestamp'),
        request.body,
        signing,
        ctx.now(),
      );
      if (problem) return { kind: 'reject', status: 401, reason: problem };
    }
    const token = ctx.secrets['token'];
    const text = request.body.toString('utf8');
    if (mediaType(request) === 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams(text);
      const payload = form.get('payload');
      if (payload !== null) {
        let data: unknown;
        try {
          data = JSON.parse(payload);
        } catch (err) {
          return {
            kind: 'reject',
            status: 400,
            reason: `interaction payload is not valid JSON: ${(err as Error).message}`,
          };
        }
        const t = (data as { token?: unknown }).token;
        if (token !== undefined && typeof t === 'string' && !secretsEqual(t, token))
          return { kind: 'reject', status: 401, reason: 'verification token does not match' };
        if (typeof t === 'string') (data as { token: string }).token = MASKED_AUTH;
        return { kind: 'accept', events: [{ data }] };
      }
      const command: Record<string, string> = {};
      for (const [k, v] of form) command[k] ??= v;
      if (
        token !== undefined &&
        command['token'] !== undefined &&
        !secretsEqual(command['token'], token)
      )
        return { kind: 'reject', status: 401, reason: 'verification token does not match' };
      // The verification token is a credential: never in event data.
      if (command['token'] !== undefined) command['token'] = MASKED_AUTH;
      return { kind: 'accept', events: [{ data: command }] };
    }
    let body: {
      type?: string;
      token?: string;
      challenge?: string;
      event?: unknown;
      event_id?: string;
    };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (err) {
      return {
        kind: 'reject',
        status: 400,
        reason: `body is not valid JSON: ${(err as Error).message}`,
      };
    }
    if (token !== undefined && body.token !== undefined && !secretsEqual(String(body.token), token))
      return { kind: 'reject', status: 401, reason: 'verification token does not match' };
    if (body.type === 'url_verification')
      return {
        kind: 'accept',
        events: [],
        reply: { status: 200, body: String(body.challenge ?? ''), contentType: 'text/plain' },
      };
    if (body.type === 'event_callback')
      return {
        kind: 'accept',
        events: [
          { data: body.event ?? null, ...(body.event_id ? { naturalId: body.event_id } : {}) },
        ],
      };
    return {
      kind: 'reject',
      status: 400,
      reason: `unsupported Slack request type ${JSON.stringify(body.type)}`,
    };
  },
};
