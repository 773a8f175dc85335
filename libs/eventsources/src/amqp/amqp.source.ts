import { createHash } from 'node:crypto';
import type { AMQPEventSource } from '@ganglion/api';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type Options } from 'amqplib';
import { parse as parseYaml } from 'yaml';
import {
  argoBody,
  incomingFromHeaders,
  type BrokerContext,
  type BrokerSession,
  type BrokerSourceType,
  type CommonBrokerConfig,
} from '../kit/broker-source.js';
import { goTimeString } from '../calendar/calendar.schedule.js';

type AmqpConfig = AMQPEventSource & CommonBrokerConfig;

/**
 * Unacknowledged messages RabbitMQ hands one consumer at most (`basic.qos` prefetch): the
 * backpressure. Messages are acknowledged only once the bus has them, so a slow or absent bus
 * stops the deliveries once this many are in flight; it is below the kit's window, so the kit
 * pauses the consumer only for very large messages (its byte bound).
 */
const AMQP_PREFETCH = 500;

/** Go's zero `time.Time` as `String()` prints it: Argo's `timestamp` of a message without one. */
const GO_ZERO_TIME = '0001-01-01 00:00:00 +0000 UTC';

/**
 * The queue a configured event consumes. Argo's default is a server-named exclusive queue that
 * lives as long as the connection: messages published while the source is down are lost, and
 * two replicas would each get every message. Without `queueDeclare.name`, Ganglion declares a
 * durable, shared queue named after the event instead (`ganglion.<ns>.<eventSource>.<event>`):
 * it keeps messages while no replica is connected, and the replicas compete for its messages.
 * With a name, the `queueDeclare` flags are used as given (Go's zero values when omitted), as
 * in Argo; an `exclusive` named queue admits one replica at a time (the others retry).
 */
export function amqpQueue(
  config: AMQPEventSource,
  event: { namespace: string; eventSource: string; eventName: string },
): { name: string; options: Options.AssertQueue } {
  const q = config.queueDeclare;
  const args = queueArguments(q?.arguments);
  if (!q?.name)
    return {
      name: `ganglion.${event.namespace}.${event.eventSource}.${event.eventName}`,
      options: {
        durable: true,
        exclusive: false,
        autoDelete: false,
        ...(args ? { arguments: args } : {}),
      },
    };
  return {
    name: q.name,
    options: {
      durable: q.durable ?? false,
      exclusive: q.exclusive ?? false,
      autoDelete: q.autoDelete ?? false,
      ...(args ? { arguments: args } : {}),
    },
  };
}

/** `queueDeclare.arguments`: a YAML (or JSON) map, as Argo parses it. */
function queueArguments(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new Error(`queueDeclare.arguments is not a YAML map: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('queueDeclare.arguments is not a YAML map');
  return parsed as Record<string, unknown>;
}

/** Argo's `AMQPEventData` of a delivery (without `metadata`, which the kit adds). */
export function amqpEventData(msg: ConsumeMessage, jsonBody?: boolean): Record<string, unknown> {
  const p = msg.properties;
  const ts = typeof p.timestamp === 'number' ? p.timestamp : undefined;
  const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
  return {
    contentType: str(p.contentType),
    contentEncoding: str(p.contentEncoding),
    deliveryMode: Number(p.deliveryMode ?? 0),
    priority: Number(p.priority ?? 0),
    correlationId: str(p.correlationId),
    replyTo: str(p.replyTo),
    expiration: str(p.expiration),
    messageId: str(p.messageId),
    timestamp: ts === undefined ? GO_ZERO_TIME : goTimeString(ts * 1000, 'UTC'),
    type: str(p.type),
    appId: str(p.appId),
    exchange: msg.fields.exchange,
    routingKey: msg.fields.routingKey,
    body: argoBody(msg.content, jsonBody),
  };
}

/**
 * A delivery's identity, for its CloudEvent id: the publisher's `message-id` when set (the AMQP
 * property meant for this); otherwise a hash of what was published (exchange, routing key,
 * properties, body), which a redelivery repeats. Two byte-identical messages without a
 * message id or timestamp therefore share an id: publishers that need them told apart set one.
 */
export function amqpNaturalId(msg: ConsumeMessage): string {
  if (msg.properties.messageId) return `message-id/${String(msg.properties.messageId)}`;
  const { headers, ...props } = msg.properties;
  return `content/${createHash('sha256')
    .update(JSON.stringify([msg.fields.exchange, msg.fields.routingKey, props, headers ?? {}]))
    .update(msg.content)
    .digest('hex')}`;
}

/** The CloudEvent attributes of a message in the AMQP binding's headers (`cloudEvents:id`). */
function headerStrings(
  headers: Record<string, unknown> | undefined,
): Record<string, string> | undefined {
  if (!headers) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (typeof v === 'string' || typeof v === 'number' || Buffer.isBuffer(v)) out[k] = String(v);
  return out;
}

async function amqpUrl(ctx: BrokerContext<AmqpConfig>): Promise<string> {
  const c = ctx.config;
  const raw = c.urlSecret ? (await ctx.secret(c.urlSecret)).trim() : c.url;
  if (!raw) throw new Error('amqp: neither url nor urlSecret is set');
  const url = new URL(raw);
  // Argo's connection config: a 10 s heartbeat.
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', '10');
  // Argo passes `auth` as SASL PLAIN credentials, which win over any in the URL.
  const user = await ctx.optionalSecret(c.auth?.username);
  const password = await ctx.optionalSecret(c.auth?.password);
  if (user !== undefined) url.username = encodeURIComponent(user);
  if (password !== undefined) url.password = encodeURIComponent(password);
  return url.toString();
}

/**
 * Argo's `amqp` source on RabbitMQ (or any AMQP 0-9-1 broker): declares the exchange, the queue
 * and its binding as configured, consumes the queue with manual acknowledgements and a
 * prefetch of {@link AMQP_PREFETCH}, and acknowledges each delivery once the bus has its event.
 * A crash in between leaves it unacknowledged: RabbitMQ redelivers it (same CloudEvent id).
 * `consume.autoAck: true`, when set explicitly, is honoured (RabbitMQ forgets a message as it
 * sends it: at-most-once, as Argo's default).
 */
export const amqpSource: BrokerSourceType<AmqpConfig> = {
  type: 'amqp',
  async connect(ctx) {
    const c = ctx.config;
    const tls = await ctx.tls(c.tls);
    const conn: ChannelModel = await amqp.connect(await amqpUrl(ctx), tls ?? {});
    let closing = false;
    conn.on('error', (err: Error) => ctx.logger.warn('amqp connection error', { error: err }));
    conn.on('close', (err?: Error) => {
      if (!closing) ctx.fail(err ?? new Error('amqp connection closed'));
    });
    try {
      const ch: Channel = await conn.createChannel();
      ch.on('error', (err: Error) => ctx.logger.warn('amqp channel error', { error: err }));
      ch.on('close', () => {
        if (!closing) ctx.fail(new Error('amqp channel closed'));
      });
      const ex = c.exchangeDeclare;
      if (c.exchangeName)
        await ch.assertExchange(c.exchangeName, c.exchangeType, {
          durable: ex ? (ex.durable ?? false) : true,
          autoDelete: ex?.autoDelete ?? false,
          internal: ex?.internal ?? false,
        });
      const queue = amqpQueue(c, ctx.event);
      const q = await ch.assertQueue(queue.name, queue.options);
      if (c.exchangeName) await ch.bindQueue(q.queue, c.exchangeName, c.routingKey);
      const autoAck = c.consume?.autoAck === true;
      await ch.prefetch(AMQP_PREFETCH);
      // The kit acknowledges in delivery order: the last delivery acknowledged in a turn of
      // the event loop is acknowledged with `multiple`, which covers the ones before it on the
      // channel (one basic.ack per produce request instead of one per message).
      let last: ConsumeMessage | undefined;
      const ack = (msg: ConsumeMessage): void => {
        if (!last)
          setImmediate(() => {
            const m = last!;
            last = undefined;
            try {
              ch.ack(m, true);
            } catch (err) {
              // The channel closed: its unacknowledged deliveries go back to the queue.
              ctx.logger.warn('amqp acknowledgement failed (redelivered)', { error: err });
            }
          });
        last = msg;
      };
      const onMessage = (msg: ConsumeMessage | null): void => {
        if (msg === null) {
          ctx.fail(new Error(`amqp: the broker cancelled the consumer of queue ${q.queue}`));
          return;
        }
        const incoming = incomingFromHeaders(headerStrings(msg.properties.headers));
        void ctx.deliver({
          naturalId: amqpNaturalId(msg),
          data: amqpEventData(msg, c.jsonBody),
          bytes: msg.content.length + 256,
          ...(incoming ? { incoming } : {}),
          ...(autoAck ? {} : { ack: () => ack(msg) }),
        });
      };
      const consumeOptions: Options.Consume = {
        noAck: autoAck,
        exclusive: c.consume?.exclusive ?? false,
        noLocal: c.consume?.noLocal ?? false,
        ...(c.consume?.consumerTag ? { consumerTag: c.consume.consumerTag } : {}),
      };
      let tag: string | undefined = (await ch.consume(q.queue, onMessage, consumeOptions))
        .consumerTag;
      let resuming: Promise<void> = Promise.resolve();
      const session: BrokerSession = {
        // Cancelling the consumer stops new deliveries; the ones in flight stay acknowledgeable
        // on the channel. Resuming starts a new consumer on the same channel.
        pause() {
          const t = tag;
          tag = undefined;
          if (t) resuming = resuming.then(() => ch.cancel(t).then(() => undefined));
        },
        resume() {
          if (tag) return;
          resuming = resuming.then(async () => {
            if (tag || closing) return;
            tag = (await ch.consume(q.queue, onMessage, consumeOptions)).consumerTag;
          });
          resuming.catch((err: unknown) => ctx.fail(err));
        },
        async close() {
          closing = true;
          await conn.close().catch(() => undefined);
        },
      };
      return session;
    } catch (err) {
      closing = true;
      await conn.close().catch(() => undefined);
      throw err;
    }
  },
};
