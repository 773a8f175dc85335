import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultAzureCredential } from '@azure/identity';
import { QueueServiceClient, type DequeuedMessageItem } from '@azure/storage-queue';
import type { AzureQueueStorageEventSource } from '@ganglion/api';
import type { BrokerSession, BrokerSourceType } from '../kit/broker-source.js';
import { argoBody } from '../kit/broker-source.js';

/** Invisibility of a received message (s), renewed while it waits for the bus (as sqs). */
const VISIBILITY_S = 30;
/** Messages in flight this long (ms) get their invisibility renewed, every {@link RENEW_MS}. */
const RENEW_MS = 10_000;
/** The service's limit of messages per receive. */
const BATCH = 32;
/** Argo's pause after an empty receive when `waitTimeInSeconds` is unset (s). */
const DEFAULT_WAIT_S = 3;
/** Deletes running at once. */
const DELETE_CONCURRENCY = 16;

/** Go's `base64.URLEncoding`, then `StdEncoding` (Argo's `safeBase64Decode`); undefined if neither. */
function decodeBase64(text: string): Buffer | undefined {
  const url = /^[A-Za-z0-9_-]*={0,2}$/;
  const std = /^[A-Za-z0-9+/]*={0,2}$/;
  if (text.length % 4 !== 0 || !(url.test(text) || std.test(text))) return undefined;
  return Buffer.from(text, url.test(text) ? 'base64url' : 'base64');
}

/** A time as Go's `encoding/json` writes it (RFC 3339, fraction without trailing zeros). */
export function goRfc3339(t: Date): string {
  return t.toISOString().replace(/\.(\d*?)0*Z$/, (_, d: string) => (d ? `.${d}Z` : 'Z'));
}

/**
 * The message's body as Argo builds it (`decodeMessage`: base64 decoded), or undefined when Argo
 * cannot marshal the event (not base64; not JSON with `jsonBody`).
 */
function bodyOf(m: DequeuedMessageItem, cfg: AzureQueueStorageEventSource): unknown {
  const raw = cfg.decodeMessage ? decodeBase64(m.messageText) : Buffer.from(m.messageText);
  if (!raw) return undefined;
  if (cfg.jsonBody) {
    try {
      JSON.parse(raw.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  return argoBody(raw, cfg.jsonBody);
}

/**
 * Argo's `azureQueueStorage` event source: receives up to 32 messages at a time from
 * `queueName` (a pause of `waitTimeInSeconds`, default 3 s, after an empty receive), publishes
 * `{messageID, body, insertionTime, metadata}` with the message id as the natural id, and
 * deletes each message only after the bus acknowledged it. A received message is invisible for
 * 30 s, renewed while it waits for the bus. Every replica receives (Argo runs it active-active
 * too). A message Argo cannot marshal (`decodeMessage` on text that is not base64, `jsonBody`
 * on text that is not JSON) is deleted unpublished, or left in the queue with `dlq`.
 */
export const azureQueueStorageSource: BrokerSourceType<AzureQueueStorageEventSource> = {
  type: 'azureQueueStorage',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    const connectionString = await ctx.optionalSecret(cfg.connectionString);
    const service = connectionString
      ? QueueServiceClient.fromConnectionString(connectionString)
      : new QueueServiceClient(
          `https://${cfg.storageAccountName}.queue.core.windows.net/`,
          new DefaultAzureCredential(),
        );
    const queue = service.getQueueClient(cfg.queueName);
    if (!(await queue.exists())) throw new Error(`queue ${cfg.queueName} does not exist`);
    const abort = new AbortController();
    let closing = false;
    /** Messages taken and not yet deleted: their latest pop receipt and when it was last set. */
    const inFlight = new Map<string, { popReceipt: string; at: number; deleting?: boolean }>();
    const deletes: string[] = [];
    let deleting = 0;
    let drained: (() => void) | undefined;

    const pumpDeletes = (): void => {
      while (deleting < DELETE_CONCURRENCY && deletes.length) {
        const id = deletes.shift()!;
        const held = inFlight.get(id);
        if (!held) continue;
        held.deleting = true;
        deleting++;
        queue
          .deleteMessage(id, held.popReceipt)
          .then(
            () => inFlight.delete(id),
            (err: unknown) => {
              inFlight.delete(id);
              ctx.logger.warn('message not deleted (it will be delivered again, same id)', {
                messageId: id,
                error: err,
              });
            },
          )
          .finally(() => {
            deleting--;
            pumpDeletes();
            if (!deleting && !deletes.length) drained?.();
          });
      }
    };

    const remove = (id: string): void => {
      if (closing || !inFlight.has(id)) return;
      deletes.push(id);
      pumpDeletes();
    };

    const renew = setInterval(() => {
      for (const [id, held] of inFlight) {
        if (Date.now() - held.at < RENEW_MS - 1000 || held.deleting || deletes.includes(id))
          continue;
        queue
          .updateMessage(id, held.popReceipt, undefined, VISIBILITY_S)
          .then((res) => {
            const now = inFlight.get(id);
            if (now && res.popReceipt) {
              now.popReceipt = res.popReceipt;
              now.at = Date.now();
            }
          })
          .catch((err: unknown) =>
            ctx.logger.warn('visibility not renewed', { messageId: id, error: err }),
          );
      }
    }, RENEW_MS);

    const pause = (s: number): Promise<void> =>
      sleep(Math.max(200, s * 1000), undefined, { signal: abort.signal }).catch(() => undefined);

    const loop = async (): Promise<void> => {
      while (!closing) {
        let items: DequeuedMessageItem[];
        try {
          const res = await queue.receiveMessages({
            numberOfMessages: BATCH,
            visibilityTimeout: VISIBILITY_S,
            abortSignal: abort.signal,
          });
          items = res.receivedMessageItems;
        } catch (err) {
          if (closing) return;
          ctx.logger.warn('receiving messages failed; retrying', {
            queue: cfg.queueName,
            error: err,
          });
          await pause(1);
          continue;
        }
        for (const m of items) {
          if (closing) return;
          inFlight.set(m.messageId, { popReceipt: m.popReceipt, at: Date.now() });
          const body = bodyOf(m, cfg);
          if (body === undefined) {
            ctx.logger.warn(
              cfg.dlq
                ? 'message cannot be marshalled: left in the queue (dlq)'
                : 'message cannot be marshalled: deleted',
              { messageId: m.messageId },
            );
            if (cfg.dlq) inFlight.delete(m.messageId);
            else remove(m.messageId);
            continue;
          }
          const id = m.messageId;
          await ctx.deliver({
            naturalId: id,
            data: { messageID: id, body, insertionTime: goRfc3339(m.insertedOn) },
            bytes: m.messageText.length + 256,
            ack: () => remove(id),
          });
        }
        if (!items.length) await pause(cfg.waitTimeInSeconds ?? DEFAULT_WAIT_S);
      }
    };
    const done = loop().catch((err: unknown) => ctx.fail(err));

    return {
      async close(): Promise<void> {
        closing = true;
        abort.abort();
        clearInterval(renew);
        await done;
        await new Promise<void>((resolve) => {
          drained = resolve;
          pumpDeletes();
          if (!deleting && !deletes.length) resolve();
        });
      },
    };
  },
};
