import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { SQSEventSource } from '@ganglion/api';
import type { BrokerContext, BrokerSession, BrokerSourceType } from '../kit/broker-source.js';
import { argoBody } from '../kit/broker-source.js';

/**
 * How long a received message stays invisible to other consumers (s). Argo asks for 120 s once;
 * here the lease is shorter and renewed while the message is in flight ({@link RENEW_MS}), so a
 * replica killed with messages in hand gives them back within 30 s, and a message waiting for
 * an unavailable bus is never handed to a second consumer.
 */
const VISIBILITY_S = 30;
/** Messages in flight this long (ms) get their invisibility renewed, every {@link RENEW_MS}. */
const RENEW_MS = 10_000;
/** SQS's batch limit (ReceiveMessage, DeleteMessageBatch, ChangeMessageVisibilityBatch). */
const BATCH = 10;
/** Argo's long-poll wait when `waitTimeSeconds` is 0. */
const DEFAULT_WAIT_S = 3;
/** Pause after a failed ReceiveMessage (ms), as Argo's 2 s. */
const RECEIVE_RETRY_MS = 2000;

/**
 * A message attribute as Argo's data carries it (aws-sdk-go's `MessageAttributeValue` marshalled
 * by `encoding/json`: Go field names, binary values base64, absent fields null).
 */
function argoAttribute(v: MessageAttributeValue): Record<string, unknown> {
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  return {
    BinaryListValues: v.BinaryListValues?.length ? v.BinaryListValues.map(b64) : null,
    BinaryValue: v.BinaryValue ? b64(v.BinaryValue) : null,
    DataType: v.DataType ?? null,
    StringListValues: v.StringListValues?.length ? v.StringListValues : null,
    StringValue: v.StringValue ?? null,
  };
}

/** Argo's `SQSEventData` without `metadata`: `{messageId, messageAttributes, body}`. */
function sqsEventData(m: Message, jsonBody: boolean | undefined): Record<string, unknown> {
  const attrs = m.MessageAttributes;
  return {
    messageId: m.MessageId ?? '',
    messageAttributes:
      attrs && Object.keys(attrs).length
        ? Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, argoAttribute(v)]))
        : null,
    body: argoBody(m.Body ?? '', jsonBody),
  };
}

/** True when `jsonBody` is set and the body is not JSON: Argo cannot marshal such an event. */
function unmarshallable(m: Message, jsonBody: boolean | undefined): boolean {
  if (!jsonBody) return false;
  try {
    JSON.parse(m.Body ?? '');
    return false;
  } catch {
    return true;
  }
}

/** The SQS client of an event: static keys from Secrets, `roleARN` assumed, or the SDK's chain. */
async function sqsClient(ctx: BrokerContext<SQSEventSource>): Promise<SQSClient> {
  const cfg = ctx.config;
  const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
    ctx.optionalSecret(cfg.accessKey),
    ctx.optionalSecret(cfg.secretKey),
    ctx.optionalSecret(cfg.sessionToken),
  ]);
  const keys =
    accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
      : undefined;
  const credentials = cfg.roleARN
    ? fromTemporaryCredentials({
        params: { RoleArn: cfg.roleARN, RoleSessionName: `ganglion-${ctx.replica}`.slice(0, 64) },
        clientConfig: { region: cfg.region },
        ...(keys ? { masterCredentials: keys } : {}),
      })
    : keys;
  return new SQSClient({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/**
 * Argo's `sqs` event source: long-polls `queue` (ReceiveMessage, up to 10 messages,
 * `waitTimeSeconds`, all message attributes), publishes `{messageId, messageAttributes, body,
 * metadata}` with the message id as the natural id, and deletes each message (in batches) only
 * after the bus acknowledged it. Received messages stay invisible while in flight (a 30 s lease,
 * renewed). Every replica polls: SQS hands each message to one of them, and a FIFO queue hands
 * a message group's next message only once the previous one is deleted, so a group keeps its
 * order on the bus. With `jsonBody` a body that is not JSON is deleted unpublished, as Argo
 * does, or left to the queue's redrive policy (dead-letter queue) with `dlq`.
 */
export const sqsSource: BrokerSourceType<SQSEventSource> = {
  type: 'sqs',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    const client = await sqsClient(ctx);
    const abort = new AbortController();
    let url: string;
    try {
      const res = await client.send(
        new GetQueueUrlCommand({
          QueueName: cfg.queue,
          ...(cfg.queueAccountId ? { QueueOwnerAWSAccountId: cfg.queueAccountId } : {}),
        }),
      );
      if (!res.QueueUrl) throw new Error(`no URL for queue ${cfg.queue}`);
      url = res.QueueUrl;
    } catch (err) {
      client.destroy();
      throw err;
    }
    let closing = false;
    /** Receipt handles of messages taken and not yet deleted, with when they were taken. */
    const inFlight = new Map<string, number>();
    const deletes: { Id: string; ReceiptHandle: string }[] = [];
    let entryId = 0;
    let flushing: Promise<void> = Promise.resolve();

    const flushDeletes = (): Promise<void> => {
      flushing = flushing.then(async () => {
        while (deletes.length) {
          const entries = deletes.splice(0, BATCH);
          try {
            const res = await client.send(
              new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }),
            );
            for (const f of res.Failed ?? [])
              ctx.logger.warn('message not deleted (it will be delivered again, same id)', {
                code: f.Code,
                reason: f.Message,
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

    const remove = (handle: string): void => {
      // After close the client is gone: the message is delivered again (same id).
      if (!inFlight.delete(handle) || closing) return;
      deletes.push({ Id: String(entryId++), ReceiptHandle: handle });
      if (deletes.length >= BATCH) void flushDeletes();
      else if (deletes.length === 1) setImmediate(() => void flushDeletes());
    };

    const renew = setInterval(() => {
      const due = [...inFlight].filter(([, at]) => Date.now() - at >= RENEW_MS - 1000);
      for (let i = 0; i < due.length; i += BATCH)
        client
          .send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: url,
              Entries: due.slice(i, i + BATCH).map(([h], j) => ({
                Id: String(j),
                ReceiptHandle: h,
                VisibilityTimeout: VISIBILITY_S,
              })),
            }),
          )
          .catch((err: unknown) =>
            ctx.logger.warn('visibility not renewed', { error: err, messages: due.length }),
          );
    }, RENEW_MS);

    const loop = async (): Promise<void> => {
      while (!closing) {
        let messages: Message[];
        try {
          const res = await client.send(
            new ReceiveMessageCommand({
              QueueUrl: url,
              MaxNumberOfMessages: BATCH,
              VisibilityTimeout: VISIBILITY_S,
              WaitTimeSeconds: cfg.waitTimeSeconds || DEFAULT_WAIT_S,
              MessageAttributeNames: ['All'],
              MessageSystemAttributeNames: ['SentTimestamp'],
            }),
            { abortSignal: abort.signal },
          );
          messages = res.Messages ?? [];
        } catch (err) {
          if (closing) return;
          ctx.logger.warn('ReceiveMessage failed; retrying', { queue: cfg.queue, error: err });
          await new Promise((r) => setTimeout(r, RECEIVE_RETRY_MS));
          continue;
        }
        for (const m of messages) {
          const handle = m.ReceiptHandle;
          if (!handle || closing) continue;
          inFlight.set(handle, Date.now());
          if (unmarshallable(m, cfg.jsonBody)) {
            ctx.logger.warn(
              cfg.dlq
                ? 'body is not JSON: left for the dead-letter queue'
                : 'body is not JSON: deleted',
              { messageId: m.MessageId },
            );
            if (cfg.dlq) inFlight.delete(handle);
            else remove(handle);
            continue;
          }
          await ctx.deliver({
            naturalId: m.MessageId ?? handle,
            data: sqsEventData(m, cfg.jsonBody),
            bytes: Buffer.byteLength(m.Body ?? '') + 256,
            ack: () => remove(handle),
          });
        }
      }
    };
    const done = loop().catch((err: unknown) => ctx.fail(err));

    return {
      async close(): Promise<void> {
        closing = true;
        abort.abort();
        clearInterval(renew);
        await done;
        await flushDeletes();
        client.destroy();
      },
    };
  },
};
