import type { SlackTrigger } from '@ganglion/api';
import { HttpClient } from '../common/http.client.js';
import { applyTypeParameters, failure, TemplateError } from '../common/params.helper.js';
import { resolveSecret } from '../common/secrets.helper.js';
import type { TriggerPlugin } from '../trigger.js';

export interface SlackTriggerOptions {
  /** Slack Web API base URL (default https://slack.com/api). */
  apiUrl?: string;
  client?: HttpClient;
}

function parseJsonField(name: string, text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TemplateError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Argo's `slack` trigger over the Web API's `chat.postMessage`: `channel`, `message`,
 * `attachments` and `blocks` (JSON strings), `sender` (username, icon URL or :emoji:) and
 * `thread` (messages with the same `messageAggregationKey` go to one thread; the first message's
 * `ts` is remembered per replica). Unlike Argo, the type's own `parameters` are applied too.
 * A Slack `ok: false` is a failure (`ratelimited` and 5xx are retried).
 */
export function createSlackTrigger(options: SlackTriggerOptions = {}): TriggerPlugin<SlackTrigger> {
  const apiUrl = (options.apiUrl ?? 'https://slack.com/api').replace(/\/+$/, '');
  const client = options.client ?? new HttpClient();
  const threads = new Map<string, string>();
  return {
    type: 'slack',
    async execute(template, _trigger, events, ctx) {
      const what = 'slack chat.postMessage';
      try {
        const t = applyTypeParameters(template, events);
        if (!t.channel) throw new TemplateError('channel is required');
        if (!t.slackToken) throw new TemplateError('slackToken is required');
        const token = await resolveSecret(ctx, t.slackToken);
        const body: Record<string, unknown> = {
          channel: t.channel.replace(/^#/, ''),
          text: t.message ?? '',
        };
        const attachments = parseJsonField('attachments', t.attachments);
        const blocks = parseJsonField('blocks', t.blocks);
        if (attachments !== undefined) body['attachments'] = attachments;
        if (blocks !== undefined) body['blocks'] = blocks;
        if (t.sender?.username) body['username'] = t.sender.username;
        if (t.sender?.icon)
          body[/^:.*:$/.test(t.sender.icon) ? 'icon_emoji' : 'icon_url'] = t.sender.icon;
        const threadKey = t.thread?.messageAggregationKey
          ? `${ctx.namespace}/${t.channel}/${t.thread.messageAggregationKey}`
          : undefined;
        const threadTs = threadKey ? threads.get(threadKey) : undefined;
        if (threadTs) {
          body['thread_ts'] = threadTs;
          if (t.thread?.broadcastMessageToChannel) body['reply_broadcast'] = true;
        }
        const res = await client.request({
          method: 'POST',
          url: `${apiUrl}/chat.postMessage`,
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            Authorization: `Bearer ${token}`,
            'Idempotency-Key': ctx.actionId,
          },
          body: Buffer.from(JSON.stringify(body)),
          timeoutMs: 30_000,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
        if (res.status >= 400)
          return {
            ok: false,
            error: `${what} → HTTP ${res.status}`,
            retryable: res.status >= 500 || res.status === 429,
          };
        let reply: { ok?: boolean; error?: string; ts?: string };
        try {
          reply = JSON.parse(res.body.toString('utf8')) as typeof reply;
        } catch {
          return { ok: false, error: `${what}: the answer is not JSON`, retryable: true };
        }
        if (!reply.ok)
          return {
            ok: false,
            error: `${what}: ${reply.error ?? 'not ok'}`,
            retryable:
              reply.error === 'ratelimited' ||
              reply.error === 'internal_error' ||
              reply.error === 'service_unavailable',
          };
        if (threadKey && !threadTs && reply.ts) threads.set(threadKey, reply.ts);
        return { ok: true, detail: `posted to ${t.channel}${reply.ts ? ` (ts ${reply.ts})` : ''}` };
      } catch (err) {
        return failure(err, what);
      }
    },
    async close() {
      client.close();
    },
  };
}
