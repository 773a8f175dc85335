import { DefaultAzureCredential } from '@azure/identity';
import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiverOptions,
} from '@azure/service-bus';
import type { AzureServiceBusEventSource } from '@ganglion/api';
import type { BrokerSession, BrokerSourceType } from '../kit/broker-source.js';
import { argoBody } from '../kit/broker-source.js';
import { goRfc3339 } from '../azurequeuestorage/azure-queue-storage.source.js';

/** Messages asked for per receive. */
const BATCH = 100;
/** How long one receive waits for the first message (ms). */
const WAIT_MS = 5_000;
/**
 * How long the client keeps renewing the lock of a received message that is not settled yet
 * (ms): while the kit waits for the bus, the message stays locked to this replica.
 */
const LOCK_RENEWAL_MS = 60 * 60 * 1000;
/**
 * The client's own retries stay short: a namespace that cannot be reached fails the session,
 * and the kit reconnects with the event's `connectionBackoff`.
 */
const RETRY = { maxRetries: 2, retryDelayInMs: 1_000, maxRetryDelayInMs: 10_000 };

/** The fields of a received message that Argo's event data reads. */
export type ServiceBusMessageFields = Pick<
  ServiceBusReceivedMessage,
  | 'body'
  | 'messageId'
  | 'contentType'
  | 'correlationId'
  | 'replyTo'
  | 'subject'
  | 'applicationProperties'
  | 'enqueuedTimeUtc'
> & {
  /** A `Long` from the client; anything whose decimal string is the number. */
  sequenceNumber?: { toString(): string } | undefined;
  _rawAmqpMessage?: { bodyType?: 'data' | 'sequence' | 'value' | undefined } | undefined;
};

/** A message id or correlation id as Go's client holds it: a string. */
function idString(v: string | number | Buffer | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** An application property value as Go's `encoding/json` writes it. */
function goValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return goRfc3339(v);
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'high' in v && 'low' in v) return Number(String(v));
  return v;
}

/**
 * Argo's event data for a Service Bus message (`AzureServiceBusEventData`, without `metadata`):
 * `{applicationProperties, body, contentType, correlationID, enqueuedTime, messageID, replyTo,
 * sequenceNumber, subject}`, absent values as `null` (Go's nil pointers). The body is the
 * message's data section: base64 (Go's `[]byte`), or with `jsonBody` the JSON itself; a body
 * that is not a data section is `null` (Go's client leaves `Body` empty). Undefined when Argo
 * could not marshal the event: `jsonBody` on a body that is not JSON.
 */
export function serviceBusEventData(
  m: ServiceBusMessageFields,
  jsonBody?: boolean,
): Record<string, unknown> | undefined {
  const bodyType = m._rawAmqpMessage?.bodyType ?? 'data';
  let body: unknown = null;
  if (bodyType === 'data') {
    const raw: Buffer = Buffer.isBuffer(m.body)
      ? m.body
      : m.body instanceof Uint8Array
        ? Buffer.from(m.body)
        : Buffer.from(typeof m.body === 'string' ? m.body : JSON.stringify(m.body ?? null));
    if (jsonBody) {
      try {
        JSON.parse(raw.toString('utf8'));
      } catch {
        return undefined;
      }
    }
    body = argoBody(raw, jsonBody);
  }
  const props = m.applicationProperties
    ? Object.fromEntries(Object.entries(m.applicationProperties).map(([k, v]) => [k, goValue(v)]))
    : null;
  const seq = m.sequenceNumber === undefined ? null : Number(m.sequenceNumber.toString());
  return {
    applicationProperties: props,
    body,
    contentType: m.contentType ?? null,
    correlationID: idString(m.correlationId) ?? null,
    enqueuedTime: m.enqueuedTimeUtc ? goRfc3339(m.enqueuedTimeUtc) : null,
    messageID: idString(m.messageId) ?? '',
    replyTo: m.replyTo ?? null,
    sequenceNumber: seq,
    subject: m.subject ?? null,
  };
}

/**
 * The message's identity at the source, the CloudEvent id's seed: the entity and the sequence
 * number Service Bus assigned it (unique in the entity and the same on every redelivery; the
 * `messageId` is the sender's and need not be unique).
 */
export function serviceBusNaturalId(entity: string, m: ServiceBusMessageFields): string {
  const seq = m.sequenceNumber?.toString();
  return seq !== undefined ? `${entity}/${seq}` : `${entity}/id:${idString(m.messageId) ?? ''}`;
}

/** The entity path a configuration receives from. */
export function serviceBusEntity(cfg: AzureServiceBusEventSource): string {
  return cfg.queueName
    ? cfg.queueName
    : `${cfg.topicName ?? ''}/Subscriptions/${cfg.subscriptionName ?? ''}`;
}

/**
 * Argo's `azureServiceBus` event source: receives from `queueName`, or `topicName` +
 * `subscriptionName`, in peek-lock mode (up to 100 messages per receive), publishes Argo's data
 * with the entity + sequence number as the natural id, and completes each message only after the
 * bus acknowledged its event. Locks are renewed by the client while a message waits for the bus.
 * Every replica receives (competing consumers: Service Bus hands each message to one receiver).
 * A message Argo cannot marshal (`jsonBody` on a body that is not JSON) is dead-lettered.
 * Credentials: `connectionString` from a Secret, else `fullyQualifiedNamespace` with Azure AD
 * (`DefaultAzureCredential`). Not verified against a server (docs/argo-differences.md).
 */
export const azureServiceBusSource: BrokerSourceType<AzureServiceBusEventSource> = {
  type: 'azureServiceBus',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    const connectionString = await ctx.optionalSecret(cfg.connectionString);
    if (!connectionString && !cfg.fullyQualifiedNamespace)
      throw new Error(
        'azureServiceBus: neither connectionString nor fullyQualifiedNamespace is set',
      );
    if (cfg.tls)
      ctx.logger.warn(
        'azureServiceBus: the tls block is not applied (the JavaScript Service Bus client takes no TLS options; NODE_EXTRA_CA_CERTS adds CAs)',
      );
    const client = connectionString
      ? new ServiceBusClient(connectionString, { retryOptions: RETRY })
      : new ServiceBusClient(cfg.fullyQualifiedNamespace!, new DefaultAzureCredential(), {
          retryOptions: RETRY,
        });
    const options: ServiceBusReceiverOptions = {
      receiveMode: 'peekLock',
      skipParsingBodyAsJson: true,
      maxAutoLockRenewalDurationInMs: LOCK_RENEWAL_MS,
    };
    const receiver = cfg.queueName
      ? client.createReceiver(cfg.queueName, options)
      : client.createReceiver(cfg.topicName ?? '', cfg.subscriptionName ?? '', options);
    const entity = serviceBusEntity(cfg);
    const abort = new AbortController();
    let closing = false;

    const loop = async (): Promise<void> => {
      while (!closing) {
        let batch: ServiceBusReceivedMessage[];
        try {
          batch = await receiver.receiveMessages(BATCH, {
            maxWaitTimeInMs: WAIT_MS,
            abortSignal: abort.signal,
          });
        } catch (err) {
          if (!closing) ctx.fail(err);
          return;
        }
        for (const m of batch) {
          if (closing) return;
          const data = serviceBusEventData(m, cfg.jsonBody);
          if (!data) {
            ctx.logger.warn('message body is not JSON (jsonBody): dead-lettered', {
              entity,
              sequenceNumber: m.sequenceNumber?.toString(),
            });
            await receiver
              .deadLetterMessage(m, {
                deadLetterReason: 'NotJSON',
                deadLetterErrorDescription: 'jsonBody is set and the body is not JSON',
              })
              .catch((err: unknown) =>
                ctx.logger.warn('dead-lettering failed', { entity, error: err }),
              );
            continue;
          }
          await ctx.deliver({
            naturalId: serviceBusNaturalId(entity, m),
            data,
            bytes: (Buffer.isBuffer(m.body) ? m.body.length : 0) + 512,
            ack: () => receiver.completeMessage(m),
          });
        }
      }
    };
    const done = loop();

    return {
      async close(): Promise<void> {
        closing = true;
        abort.abort();
        await done;
        await receiver.close().catch(() => undefined);
        await client.close().catch(() => undefined);
      },
    };
  },
};
