import { DefaultAzureCredential } from '@azure/identity';
import {
  EventHubConsumerClient,
  latestEventPosition,
  type EventPosition,
  type ReceivedEventData,
  type Subscription,
} from '@azure/event-hubs';
import type { AzureEventsHubEventSource } from '@ganglion/api';
import type { BrokerSession, BrokerSourceType } from '../kit/broker-source.js';
import { argoBody } from '../kit/broker-source.js';
import type { OwnedHost } from '../kit/owned-source.js';
import { HubCheckpointStore, type HubCheckpoints } from './hub-checkpoints.js';

/** Events per batch handed over by the client, and how long it waits to fill one (s). */
const BATCH = 100;
const WAIT_S = 5;
/**
 * The client's own retries stay short: a hub that cannot be reached fails the connection, and
 * the kit reconnects with the event's `connectionBackoff`.
 */
const RETRY = { maxRetries: 2, retryDelayInMs: 1_000, maxRetryDelayInMs: 10_000 };

/** The fields of a received event that Argo's event data reads. */
export type HubEventFields = Pick<ReceivedEventData, 'body' | 'messageId' | 'partitionKey'>;

/**
 * Argo's event data for an Event Hubs event (`AzureEventsHubEventData`, without `metadata`):
 * `{id, partitionKey, body}`: the message id as a string, the partition key or `""`, the body's
 * bytes in base64 (Go's `[]byte`; Argo has no `jsonBody` for this type).
 */
export function hubEventData(e: HubEventFields): Record<string, unknown> {
  const id = e.messageId;
  const body: unknown = e.body;
  const raw = Buffer.isBuffer(body)
    ? body
    : body instanceof Uint8Array
      ? Buffer.from(body)
      : body === undefined || body === null
        ? Buffer.alloc(0)
        : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    id: id === undefined ? '' : Buffer.isBuffer(id) ? id.toString('utf8') : String(id),
    partitionKey: e.partitionKey ?? '',
    body: argoBody(raw),
  };
}

/** The event's identity in the hub, the CloudEvent id's seed: partition and sequence number. */
export function hubNaturalId(partitionId: string, sequenceNumber: number): string {
  return `${partitionId}/${sequenceNumber}`;
}

/**
 * Where each partition starts: after its checkpoint, or (no checkpoint: a first start) at the
 * latest event, as Argo's partition clients do.
 */
export function startPositions(
  partitionIds: readonly string[],
  checkpoints: Pick<HubCheckpoints, 'position'>,
): Record<string, EventPosition> {
  return Object.fromEntries(
    partitionIds.map((p) => {
      const seq = checkpoints.position(p);
      return [
        p,
        seq === undefined ? latestEventPosition : { sequenceNumber: seq, isInclusive: false },
      ];
    }),
  );
}

/** Argo's connection string for a hub, from its fields and the SAS policy name and key. */
export function hubConnectionString(
  cfg: Pick<AzureEventsHubEventSource, 'fqdn' | 'hubName'>,
  keyName: string,
  key: string,
): string {
  return `Endpoint=sb://${cfg.fqdn}/;SharedAccessKeyName=${keyName};SharedAccessKey=${key};EntityPath=${cfg.hubName}`;
}

/**
 * Argo's `azureEventsHub` event source, on one owner replica: reads every partition of `hubName`
 * in the `$Default` consumer group, publishes `{id, partitionKey, body, metadata}` with the
 * partition + sequence number as the natural id, and checkpoints a partition's position only
 * after the bus acknowledged the events up to it (checkpoints on Kafka, {@link HubCheckpointStore}).
 * A partition without a checkpoint starts at the latest event, as Argo. Credentials: the SAS
 * policy (`sharedAccessKeyName`/`sharedAccessKey` from Secrets, Argo's connection string), else
 * Azure AD (`DefaultAzureCredential`). Not verified against a server (docs/argo-differences.md).
 */
export function azureEventsHubSource(host: OwnedHost): BrokerSourceType<AzureEventsHubEventSource> {
  const store = new HubCheckpointStore(host);
  return {
    type: 'azureEventsHub',
    async connect(ctx): Promise<BrokerSession> {
      const cfg = ctx.config;
      const [keyName, key] = await Promise.all([
        ctx.optionalSecret(cfg.sharedAccessKeyName),
        ctx.optionalSecret(cfg.sharedAccessKey),
      ]);
      const client =
        keyName && key
          ? new EventHubConsumerClient('$Default', hubConnectionString(cfg, keyName, key), {
              retryOptions: RETRY,
            })
          : new EventHubConsumerClient(
              '$Default',
              cfg.fqdn,
              cfg.hubName,
              new DefaultAzureCredential(),
              { retryOptions: RETRY },
            );
      let checkpoints: HubCheckpoints | undefined;
      let subscription: Subscription | undefined;
      try {
        const partitionIds = await client.getPartitionIds();
        const ev = ctx.event;
        checkpoints = await store.open(
          ev.bus,
          `azureEventsHub/${ev.namespace}/${ev.eventSource}/${ev.eventName}/${cfg.fqdn}/${cfg.hubName}`,
        );
        const cp = checkpoints;
        subscription = client.subscribe(
          {
            processEvents: async (events, context) => {
              for (const e of events) {
                const seq = e.sequenceNumber;
                await ctx.deliver({
                  naturalId: hubNaturalId(context.partitionId, seq),
                  data: hubEventData(e),
                  bytes: (Buffer.isBuffer(e.body) ? e.body.length : 0) + 256,
                  ack: () => cp.acknowledged(context.partitionId, seq),
                });
              }
            },
            processError: async (err, context) => {
              ctx.logger.warn('event hub receive error (the client retries)', {
                partitionId: context.partitionId,
                error: err,
              });
            },
          },
          {
            startPosition: startPositions(partitionIds, cp),
            maxBatchSize: BATCH,
            maxWaitTimeInSeconds: WAIT_S,
            skipParsingBodyAsJson: true,
          },
        );
      } catch (err) {
        await checkpoints?.close();
        await client.close().catch(() => undefined);
        throw err;
      }
      const sub = subscription;
      const cp = checkpoints;
      return {
        async close(): Promise<void> {
          await sub.close().catch(() => undefined);
          await client.close().catch(() => undefined);
          await cp.close();
        },
      };
    },
  };
}
