import type { PulsarEventSource } from '@ganglion/api';
import flex, { type Consumer as FlexConsumer, type ConsumerMessage } from 'pulsar-flex';
import {
  argoBody,
  incomingFromHeaders,
  type BrokerSession,
  type BrokerSourceType,
  type CommonBrokerConfig,
} from '../kit/broker-source.js';
import { goTimeString } from '../calendar/calendar.schedule.js';

type PulsarConfig = PulsarEventSource & CommonBrokerConfig;

const { Consumer, logLevel } = flex;

/** Messages the broker may push to one consumer ahead of their processing (flow permits). */
const PULSAR_RECEIVE_QUEUE = 500;

/** How long an entry's acknowledgement waits for more of its messages (ms). */
const ENTRY_SETTLE_MS = 200;

/** How long subscribing may take before the attempt counts as failed. */
const SUBSCRIBE_TIMEOUT_MS = 30_000;

/**
 * A topic as the Go client normalises it: `t` → `persistent://public/default/t`,
 * `tenant/ns/t` → `persistent://tenant/ns/t`; a full name is kept.
 */
export function pulsarTopic(topic: string): string {
  if (topic.includes('://')) return topic;
  return topic.includes('/') ? `persistent://${topic}` : `persistent://public/default/${topic}`;
}

/**
 * A message's publish time (ms). pulsar-flex hands a message of a batch entry with the batch's
 * single-message metadata only, which has no publish time: such a message gets the time it was
 * received.
 */
function publishTime(m: ConsumerMessage): number {
  const t = Number(m.metadata.publishTime);
  return Number.isFinite(t) && t > 0 ? t : Date.now();
}

/** `pulsar://host:port[,host:port]` as the client's discovery servers. */
function discoveryServers(url: string): string[] {
  const m = /^pulsar:\/\/(.+)$/.exec(url.trim());
  if (!m)
    throw new Error(
      `pulsar: url ${url} is not supported: this client speaks plaintext pulsar://host:port only (no TLS)`,
    );
  return m[1]!.replace(/\/$/, '').split(',');
}

/**
 * Closes a consumer without `unsubscribe()` (which deletes a durable subscription and its
 * backlog) and without the client's automatic reconnection: pulsar-flex has no close, so its
 * state is set to unsubscribed first (its reconnection gives up then) and the connection closed.
 * Unacknowledged messages go back to the subscription.
 */
function closeConsumer(consumer: FlexConsumer): void {
  consumer._setState(Consumer.CONSUMER_STATES['UNSUBSCRIBED']!);
  consumer._cleanState();
  consumer._client.getCnx()?.close();
}

/**
 * Argo's `pulsar` source on pulsar-flex (a pure-JavaScript Pulsar client: the official Node
 * client needs the native C++ libpulsar, which cannot be built here). One consumer per topic of
 * `topics`, on the durable subscription named after the event (as Argo), `exclusive` by default
 * or `shared`; each message is acknowledged only once the bus has its event. A crash in between
 * leaves it unacknowledged and Pulsar redelivers it, with the same CloudEvent id (from the
 * message id: ledger, entry, partition, batch index). `shared`: the replicas compete for the
 * messages; `exclusive`: the broker admits one replica's consumer at a time, the others retry
 * (a standby). Token auth (`authTokenSecret`); no TLS and no Athenz (the client has neither).
 */
export const pulsarSource: BrokerSourceType<PulsarConfig> = {
  type: 'pulsar',
  async connect(ctx) {
    const c = ctx.config;
    if (c.tls || c.tlsTrustCertsSecret || c.authAthenzParams || c.authAthenzSecret)
      throw new Error(
        'pulsar: TLS and Athenz are not supported by this client (pulsar-flex): use pulsar:// with authTokenSecret',
      );
    const servers = discoveryServers(c.url);
    const jwt = await ctx.optionalSecret(c.authTokenSecret);
    const consumers: FlexConsumer[] = [];
    let closing = false;
    const session: BrokerSession = {
      close() {
        closing = true;
        for (const consumer of consumers) closeConsumer(consumer);
        return Promise.resolve();
      },
    };
    try {
      for (const raw of c.topics) {
        const topic = pulsarTopic(raw);
        const consumer = new Consumer({
          discoveryServers: servers,
          ...(jwt ? { jwt: jwt.trim() } : {}),
          topic,
          subscription: ctx.event.eventName,
          subType: c.type === 'shared' ? Consumer.SUB_TYPES.SHARED : Consumer.SUB_TYPES.EXCLUSIVE,
          consumerName: ctx.replica,
          receiveQueueSize: PULSAR_RECEIVE_QUEUE,
          logLevel: logLevel.NOTHING,
        });
        consumers.push(consumer);
        consumer.onStateChange(({ newState }) => {
          if (!closing && newState === Consumer.CONSUMER_STATES['RECONNECTING'])
            ctx.fail(new Error(`pulsar: connection to ${topic} lost`));
        });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          consumer.subscribe(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`pulsar: subscribing to ${topic} timed out`)),
              SUBSCRIBE_TIMEOUT_MS,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        // pulsar-flex gives every message of a batch entry the entry's id (batch index -1), and
        // acknowledging it acknowledges the whole entry. So messages are numbered within their
        // entry here (a redelivered entry comes whole, in order: the same numbers), and an
        // entry is acknowledged once every message received from it is on the bus and no more
        // arrived for a moment (an entry's messages arrive together).
        const entries = new Map<string, { received: number; published: number }>();
        await consumer.run({
          autoAck: false,
          // pulsar-flex hands the next message only after this resolves: awaiting the kit's
          // room is the backpressure (the client's queue fills and it asks for no more).
          // A throwing handler would end pulsar-flex's processing loop silently: the session
          // fails instead (and reconnects; unacknowledged messages come again).
          onMessage: (m: ConsumerMessage) => handle(m).catch((err: unknown) => ctx.fail(err)),
        });
        async function handle(m: ConsumerMessage): Promise<void> {
          const id = m.command.messageId;
          const entryKey = `${id.ledgerid}:${id.entryid}:${id.partition}`;
          let entry = entries.get(entryKey);
          if (!entry) entries.set(entryKey, (entry = { received: 0, published: 0 }));
          const index = id.batchIndex >= 0 ? id.batchIndex : entry.received;
          entry.received++;
          const current = entry;
          const incoming = incomingFromHeaders(m.properties);
          await ctx.deliver({
            naturalId: `${topic}/${entryKey}:${index}`,
            data: {
              key: m.metadata.partitionKey ?? '',
              publishTime: goTimeString(publishTime(m), 'UTC'),
              body: argoBody(m.message, c.jsonBody),
            },
            bytes: m.message.length + 64,
            ...(incoming ? { incoming } : {}),
            ack: () => {
              current.published++;
              setTimeout(() => {
                if (closing || current.published !== current.received) return;
                if (entries.get(entryKey) !== current) return;
                entries.delete(entryKey);
                m.ack().catch((err: unknown) =>
                  ctx.logger.warn('pulsar: acknowledgement failed', { error: err }),
                );
              }, ENTRY_SETTLE_MS);
            },
          });
        }
      }
      return session;
    } catch (err) {
      await session.close();
      throw err;
    }
  },
};
