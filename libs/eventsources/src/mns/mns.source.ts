import MnsClient, { type MnsMessage } from '@alicloud/mns';
import type { MNSEventSource } from '@ganglion/api';
import type { BrokerContext, BrokerSession, BrokerSourceType } from '../kit/broker-source.js';

/** MNS's batch limit (BatchReceiveMessage, BatchDeleteMessage). */
const BATCH = 16;
/** Long-poll wait when `waitTimeSeconds` is 0 or absent (s); MNS allows 1–30. */
const DEFAULT_WAIT_S = 3;
/** The invisibility a message in flight is renewed to (s), every {@link RENEW_MS}. */
const VISIBILITY_S = 30;
/** Messages in flight this long (ms) get their invisibility renewed. */
const RENEW_MS = 10_000;
/** Pause after a failed receive (ms). */
const RECEIVE_RETRY_MS = 2000;

/**
 * Argo's `MNSEventData` without `metadata`: `{messageId, body}`. Argo's body is the message body
 * as MNS returns it (a Go string, so a JSON string); with `jsonBody` the body is parsed as JSON
 * (a body that is not JSON stays a string).
 */
export function mnsEventData(
  m: MnsMessage,
  jsonBody: boolean | undefined,
): Record<string, unknown> {
  let body: unknown = m.MessageBody ?? '';
  if (jsonBody)
    try {
      body = JSON.parse(m.MessageBody);
    } catch {
      body = m.MessageBody;
    }
  return { messageId: m.MessageId, body };
}

/** True for the error MNS answers a long poll that found no message with (404 MessageNotExist). */
export function isEmptyReceive(err: unknown): boolean {
  return (err as Error | undefined)?.name === 'MNSMessageNotExistError';
}

/**
 * The account id in an MNS endpoint (`https://<account id>.mns.<region>.aliyuncs.com`): the
 * client wants it, though with an explicit endpoint it only signs against the endpoint's host.
 */
export function accountIdOf(endpoint: string): string {
  const host = new URL(endpoint).hostname;
  return host.split('.')[0] || host;
}

/**
 * Argo's `mns` event source (Alibaba Cloud Message Service) with the official client
 * `@alicloud/mns`: long-polls `queue` at `endpoint` (BatchReceiveMessage, up to 16 messages,
 * `waitTimeSeconds`), publishes `{messageId, body, metadata}` with the MNS message id as the
 * natural id, and deletes each message (BatchDeleteMessage) only after the bus acknowledged it —
 * Argo deletes right after dispatching, whatever the outcome. Messages in flight have their
 * invisibility renewed (ChangeMessageVisibility, which hands out a new receipt handle). Every
 * replica polls: MNS hands each message to one of them. Not verified against an MNS server.
 */
export const mnsSource: BrokerSourceType<MNSEventSource> = {
  type: 'mns',
  async connect(ctx: BrokerContext<MNSEventSource>): Promise<BrokerSession> {
    const cfg = ctx.config;
    if (!cfg.accessKey || !cfg.secretKey)
      throw new Error('mns: accessKey and secretKey are required');
    const [accessKeyId, accessKeySecret] = await Promise.all([
      ctx.secret(cfg.accessKey),
      ctx.secret(cfg.secretKey),
    ]);
    const client = new MnsClient(accountIdOf(cfg.endpoint), {
      accessKeyId: accessKeyId.trim(),
      accessKeySecret: accessKeySecret.trim(),
      endpoint: cfg.endpoint.replace(/\/+$/, ''),
    });
    const wait = Math.min(30, cfg.waitTimeSeconds || DEFAULT_WAIT_S);
    let closing = false;
    /** Current receipt handle of each message taken and not yet deleted, and when it was taken. */
    const inFlight = new Map<string, { handle: string; at: number }>();
    const deletes: string[] = [];
    let flushing: Promise<void> = Promise.resolve();

    const flushDeletes = (): Promise<void> => {
      flushing = flushing.then(async () => {
        while (deletes.length) {
          const handles = deletes.splice(0, BATCH);
          try {
            const res = await client.batchDeleteMessage(cfg.queue, handles);
            for (const f of res.body ?? [])
              ctx.logger.warn('message not deleted (it will be delivered again, same id)', {
                code: f.ErrorCode,
                reason: f.ErrorMessage,
              });
          } catch (err) {
            ctx.logger.warn('messages not deleted (they will be delivered again, same ids)', {
              error: err,
            });
          }
        }
      });
      return flushing;
    };

    const remove = (messageId: string): void => {
      const entry = inFlight.get(messageId);
      if (!entry || closing) return;
      inFlight.delete(messageId);
      deletes.push(entry.handle);
      if (deletes.length >= BATCH) void flushDeletes();
      else if (deletes.length === 1) setImmediate(() => void flushDeletes());
    };

    const renew = setInterval(() => {
      for (const [id, entry] of inFlight)
        if (Date.now() - entry.at >= RENEW_MS - 1000)
          client
            .changeMessageVisibility(cfg.queue, encodeURIComponent(entry.handle), VISIBILITY_S)
            .then((res) => {
              const current = inFlight.get(id);
              if (current && res.body?.ReceiptHandle) {
                current.handle = res.body.ReceiptHandle;
                current.at = Date.now();
              }
            })
            .catch((err: unknown) =>
              ctx.logger.warn('visibility not renewed', { error: err, messageId: id }),
            );
    }, RENEW_MS);

    const loop = async (): Promise<void> => {
      while (!closing) {
        let messages: MnsMessage[];
        try {
          const res = await client.batchReceiveMessage(cfg.queue, BATCH, wait);
          messages = res.body ?? [];
        } catch (err) {
          if (closing) return;
          if (isEmptyReceive(err)) continue;
          ctx.logger.warn('BatchReceiveMessage failed; retrying', { queue: cfg.queue, error: err });
          await new Promise((r) => setTimeout(r, RECEIVE_RETRY_MS));
          continue;
        }
        for (const m of messages) {
          if (closing || !m.ReceiptHandle) continue;
          inFlight.set(m.MessageId, { handle: m.ReceiptHandle, at: Date.now() });
          await ctx.deliver({
            naturalId: m.MessageId,
            data: mnsEventData(m, cfg.jsonBody),
            bytes: Buffer.byteLength(m.MessageBody ?? '') + 256,
            ack: () => remove(m.MessageId),
          });
        }
      }
    };
    const done = loop().catch((err: unknown) => ctx.fail(err));

    return {
      async close(): Promise<void> {
        closing = true;
        clearInterval(renew);
        await done;
        await flushDeletes();
      },
    };
  },
};
