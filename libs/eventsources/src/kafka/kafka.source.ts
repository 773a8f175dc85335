import type { KafkaEventSource } from '@ganglion/api';
import {
  clusterKey,
  ExactlyOnceLoop,
  ExternalConsumer,
  parseBrokers,
  type ExternalKafkaSettings,
  type ExternalMessage,
  type OutRecord,
} from '@ganglion/eventbus';
import { markSend, processMetrics } from '@ganglion/telemetry';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { goTimeString } from '../calendar/calendar.schedule.js';
import {
  argoBody,
  incomingFromHeaders,
  type BrokerContext,
  type BrokerSession,
  type BrokerSourceType,
} from '../kit/broker-source.js';
import { shortHash, type OwnedHost } from '../kit/owned-source.js';
import type { IncomingCloudEvent } from '../kit/push-source.js';
import { AvroDecodeError, AvroSchemaRegistry } from './schema-registry.js';

const SASL: Record<string, 'plain' | 'scram-sha-256' | 'scram-sha-512'> = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
};

/** The consumer group of an event: Argo's `consumerGroup.groupName`, or one of Ganglion's own. */
function groupOf(ctx: BrokerContext<KafkaEventSource>): string {
  const e = ctx.event;
  return (
    ctx.config.consumerGroup?.groupName ||
    `ganglion-kafka-${e.namespace}-${e.eventSource}-${e.eventName}`
  );
}

/** Argo's `partition` (without a consumer group): the one partition read. */
function partitionOf(cfg: KafkaEventSource): number | undefined {
  return cfg.consumerGroup || cfg.partition === undefined || cfg.partition === ''
    ? undefined
    : Number(cfg.partition);
}

/** Argo's `KafkaEventData`: `{topic, key, partition, body, timestamp, headers}`. */
function kafkaData(m: ExternalMessage, jsonBody: boolean | undefined): Record<string, unknown> {
  return {
    topic: m.topic,
    key: m.key ? m.key.toString('utf8') : '',
    partition: m.partition,
    body: argoBody(m.value, jsonBody),
    timestamp: goTimeString(m.timestamp, 'UTC'),
    headers: m.headers,
  };
}

/** Argo's `schemaRegistry`: the decoder of the event's Avro messages, or undefined without one. */
async function registryOf(
  ctx: BrokerContext<KafkaEventSource>,
): Promise<AvroSchemaRegistry | undefined> {
  const sr = ctx.config.schemaRegistry;
  if (!sr) return undefined;
  const auth = sr.auth
    ? {
        username: (await ctx.optionalSecret(sr.auth.username)) ?? '',
        password: (await ctx.optionalSecret(sr.auth.password)) ?? '',
      }
    : undefined;
  return new AvroSchemaRegistry(sr.url, auth);
}

/**
 * A value that cannot be decoded (not in the wire format, not valid for its schema) is bridged
 * as it is, with a warning: nothing is dropped. Other failures (the registry cannot be reached)
 * are thrown: the message is not acknowledged and comes again.
 */
function undecodable(
  ctx: BrokerContext<KafkaEventSource>,
  m: { topic: string; partition: number; offset: string },
  err: unknown,
): void {
  if (!(err instanceof AvroDecodeError)) throw err;
  ctx.logger.warn('message bridged without Avro decoding', {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    error: err.message,
  });
}

function headersOf(
  h: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {}))
    if (v !== undefined) out[k] = (Array.isArray(v) ? v.at(-1)! : v).toString();
  return out;
}

/** At-least-once from another cluster: offsets committed after the bus acknowledged. */
async function connectExternal(ctx: BrokerContext<KafkaEventSource>): Promise<BrokerSession> {
  const cfg = ctx.config;
  const brokers = parseBrokers(cfg.url);
  const settings: ExternalKafkaSettings = {
    brokers,
    clientId: `ganglion-kafka-source-${ctx.replica}`,
    logger: ctx.logger,
  };
  const tls = await ctx.tls(cfg.tls);
  if (tls) settings.tls = tls;
  if (cfg.awsMskIamAuth) {
    // AWS's signer for MSK IAM over SASL/OAUTHBEARER: a SigV4-presigned `kafka-cluster:Connect`
    // URL, signed with the default AWS credential chain (environment, web identity, instance).
    const region = cfg.awsMskIamAuth.region;
    settings.sasl = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region })).token }),
    };
  } else if (cfg.sasl) {
    const mechanism = SASL[cfg.sasl.mechanism ?? 'PLAIN'];
    if (!mechanism)
      throw new Error(
        `sasl.mechanism ${cfg.sasl.mechanism} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`,
      );
    settings.sasl = {
      mechanism,
      username: (await ctx.optionalSecret(cfg.sasl.userSecret)) ?? '',
      password: (await ctx.optionalSecret(cfg.sasl.passwordSecret)) ?? '',
    };
  }
  const partition = partitionOf(cfg);
  const first = brokers[0]!;
  const registry = await registryOf(ctx);
  const deliverOne = (m: ExternalMessage, ack: () => void | Promise<void>): Promise<void> =>
    ctx.deliver({
      naturalId: `${first}:${m.topic}:${m.partition}:${m.offset}`,
      data: kafkaData(m, cfg.jsonBody),
      bytes: (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64,
      ...withIncoming(m.headers),
      ack,
    });
  // With a schema registry, messages are decoded in order (a schema may have to be fetched);
  // after a failure to fetch one, nothing more of this session is delivered (a later
  // acknowledgement would commit past the failed message): the session ends and reconnects.
  let decoded: Promise<void> = Promise.resolve();
  let broken = false;
  const consumer = new ExternalConsumer({
    ...settings,
    groupId: groupOf(ctx),
    topic: cfg.topic,
    // Argo: a group starts at `oldest` or the newest offset; without a group, at the newest.
    fromBeginning: Boolean(cfg.consumerGroup?.oldest),
    ...(partition !== undefined ? { partition } : {}),
    onMessage: (m, ack) => {
      if (!registry) {
        void deliverOne(m, ack);
        return;
      }
      decoded = decoded.then(async () => {
        if (broken) return;
        try {
          const value = await registry.decode(m.value);
          void deliverOne({ ...m, value }, ack);
        } catch (err) {
          try {
            undecodable(ctx, m, err);
            void deliverOne(m, ack);
          } catch (fatal) {
            broken = true;
            ctx.fail(fatal);
          }
        }
      });
    },
    onCrash: (err) => ctx.fail(err),
  });
  try {
    await consumer.start();
  } catch (err) {
    await consumer.stop();
    throw err;
  }
  return {
    pause: () => consumer.pause(),
    resume: () => consumer.resume(),
    close: () => consumer.stop(),
  };
}

function withIncoming(headers: Record<string, string>): { incoming?: IncomingCloudEvent } {
  const incoming = incomingFromHeaders(headers);
  return incoming ? { incoming } : {};
}

/**
 * Exactly-once on the bus's own cluster: consume → produce → commit offsets in one Kafka
 * transaction per batch (`ExactlyOnceLoop`: one transactional producer per input partition,
 * fencing a previous owner), so every message is on the bus exactly once for read_committed
 * readers, across crashes and rebalances.
 */
async function connectExactlyOnce(
  ctx: BrokerContext<KafkaEventSource>,
  host: OwnedHost,
): Promise<BrokerSession> {
  const cfg = ctx.config;
  const partition = partitionOf(cfg);
  const first = parseBrokers(cfg.url)[0]!;
  const labels = {
    namespace: ctx.event.namespace,
    eventsource_name: ctx.event.eventSource,
    event_name: ctx.event.eventName,
  };
  const group = groupOf(ctx);
  const registry = await registryOf(ctx);
  /** The value of a message as the event carries it (Avro decoded with a registry). */
  const valueOf = (m: ExternalMessage): Buffer | null => {
    if (!registry || !m.value) return m.value;
    try {
      return registry.decodeCached(m.value) ?? m.value;
    } catch (err) {
      undecodable(ctx, m, err);
      return m.value;
    }
  };
  const loop = new ExactlyOnceLoop({
    kafka: host.producers.clientFor(ctx.event.bus),
    groupId: group,
    topics: [cfg.topic],
    logger: ctx.logger,
    fromBeginning: Boolean(cfg.consumerGroup?.oldest),
    transactionalIdPrefix: `${host.transactionalId}-${shortHash(group)}`,
    ...(cfg.limitEventsPerSecond ? { maxRecordsPerSecond: cfg.limitEventsPerSecond } : {}),
    processor: {
      // The schemas of the batch's messages, fetched before the (synchronous) processing.
      ...(registry
        ? {
            prepare: async (batch) => {
              const ids: number[] = [];
              for (const message of batch.messages) {
                try {
                  ids.push(AvroSchemaRegistry.schemaIdOf(message.value));
                } catch {
                  // Not in the wire format: bridged as it is (valueOf warns).
                }
              }
              await registry.prefetch(ids);
            },
          }
        : {}),
      process: (batch) => {
        const out: OutRecord[] = [];
        if (partition !== undefined && batch.partition !== partition) return out;
        for (const message of batch.messages) {
          const headers = headersOf(message.headers);
          const m: ExternalMessage = {
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestamp: Number(message.timestamp),
            headers,
          };
          const r = ctx.recordOf({
            naturalId: `${first}:${m.topic}:${m.partition}:${m.offset}`,
            data: kafkaData({ ...m, value: valueOf(m) }, cfg.jsonBody),
            bytes: 0,
            ...withIncoming(headers),
          });
          if (!r) continue;
          const recordHeaders = { ...r.record.headers };
          markSend(r.topic, recordHeaders, { messageId: r.id, key: r.record.key });
          out.push({
            topic: r.topic,
            key: r.record.key,
            value: r.record.value,
            headers: recordHeaders,
          });
        }
        return out;
      },
    },
    onTransaction: (info) => {
      for (let i = 0; i < info.outputs; i++)
        processMetrics().eventPublished(labels, info.ok, info.commitMs);
    },
  });
  await loop.start();
  return { close: () => loop.stop() };
}

/**
 * Argo's `kafka` event source. On the bus's own cluster (the same brokers as the EventBus) it is
 * exactly-once; on any other cluster at-least-once, offsets committed only after the bus
 * acknowledged, ids from topic/partition/offset.
 */
export function kafkaSource(host: OwnedHost): BrokerSourceType<KafkaEventSource> {
  return {
    type: 'kafka',
    connect(ctx) {
      const cluster = clusterKey(parseBrokers(ctx.config.url));
      // A bus with credentials of its own has the key `<brokers>|<identity>`: same brokers, same cluster.
      return cluster === host.producers.clusterOf(ctx.event.bus).split('|')[0]
        ? connectExactlyOnce(ctx, host)
        : connectExternal(ctx);
    },
  };
}
