import type { NATSEventsSource } from '@ganglion/api';
import {
  AckPolicy,
  connect,
  credsAuthenticator,
  DeliverPolicy,
  nanos,
  nkeyAuthenticator,
  type ConnectionOptions,
  type ConsumerInfo,
  type JsMsg,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from 'nats';
import {
  argoBody,
  incomingFromHeaders,
  type BrokerContext,
  type BrokerSession,
  type BrokerSourceType,
} from '../kit/broker-source.js';

/**
 * Bytes a replica whose window is full still takes before it leaves the queue group: a burst
 * larger than the window is not dropped while the bus keeps up.
 */
const OVERFLOW_BYTES = 64 * 1024 * 1024;

/** `nats://host:port` (Argo's URL; nats.js takes the same form, several comma-separated). */
function servers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function connectionOptions(ctx: BrokerContext<NATSEventsSource>): Promise<ConnectionOptions> {
  const cfg = ctx.config;
  const options: ConnectionOptions = {
    servers: servers(cfg.url),
    name: `ganglion-${ctx.replica}`,
    // Reconnects are the kit's (connectionBackoff): a lost connection ends the session.
    reconnect: false,
    timeout: 5000,
  };
  const tls = await ctx.tls(cfg.tls);
  if (tls) options.tls = tls;
  const auth = cfg.auth;
  if (auth?.basic) {
    options.user = (await ctx.optionalSecret(auth.basic.username)) ?? '';
    options.pass = (await ctx.optionalSecret(auth.basic.password)) ?? '';
  }
  if (auth?.token) options.token = await ctx.secret(auth.token);
  if (auth?.nkey)
    options.authenticator = nkeyAuthenticator(
      new TextEncoder().encode((await ctx.secret(auth.nkey)).trim()),
    );
  if (auth?.credential)
    options.authenticator = credsAuthenticator(
      new TextEncoder().encode(await ctx.secret(auth.credential)),
    );
  return options;
}

/** Go's `nats.Header` (`map[string][]string`), or null when the message has none (as Argo marshals it). */
function headerOf(m: { headers?: MsgHdrs | undefined }): Record<string, string[]> | null {
  if (!m.headers) return null;
  const out: Record<string, string[]> = {};
  for (const [k, v] of m.headers) out[k] = v;
  return out;
}

/** A message's headers, first value of each, for {@link incomingFromHeaders}. */
function flatHeaders(header: Record<string, string[]> | null): Record<string, string> {
  const flat: Record<string, string> = {};
  if (header) for (const [k, v] of Object.entries(header)) if (v.length) flat[k] = v[0]!;
  return flat;
}

/**
 * The queue group of an event: Argo's `queue`, or by default one of Ganglion's own per event
 * (`ganglion.<namespace>.<eventSource>.<event>`), so the replicas of the service share the
 * subject's messages instead of each receiving all of them (one Argo replica's semantics).
 */
function queueOf(ctx: BrokerContext<NATSEventsSource>): string {
  const e = ctx.event;
  return ctx.config.queue || `ganglion.${e.namespace}.${e.eventSource}.${e.eventName}`;
}

/**
 * Argo's `nats` event source: core NATS subjects through a queue group (Argo's model has no
 * JetStream consumer), or, with Ganglion's `jetStream` extension, a JetStream durable consumer
 * acknowledged after the bus took the event.
 */
export const natsSource: BrokerSourceType<NATSEventsSource> = {
  type: 'nats',
  async connect(ctx): Promise<BrokerSession> {
    const nc: NatsConnection = await connect(await connectionOptions(ctx));
    try {
      return ctx.config.jetStream ? await connectJetStream(ctx, nc) : await connectCore(ctx, nc);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  },
};

/**
 * Core NATS (Argo's `nats` source): no acknowledgement, a message is the subscriber's once the
 * server sent it. The replicas join one queue group, so each message goes to one of them; when a
 * replica's window is full (the bus is slow or down) it holds up to 64 MiB more, then leaves the
 * queue group until half the window is free, so the server gives the messages to the other
 * replicas — or, when every replica has left, drops them (core NATS keeps nothing for absent
 * subscribers). A message's `Nats-Msg-Id` header (JetStream's deduplication id), when present,
 * gives the event id.
 */
async function connectCore(
  ctx: BrokerContext<NATSEventsSource>,
  nc: NatsConnection,
): Promise<BrokerSession> {
  const cfg = ctx.config;
  let closing = false;
  void nc.closed().then((err) => {
    if (!closing) ctx.fail(err ?? new Error('NATS connection closed'));
  });
  const queue = queueOf(ctx);
  let paused = false;
  let overflow = 0;
  const leave = (): void => {
    sub?.unsubscribe();
    sub = undefined;
  };
  const onMessage = (err: Error | null, m: Msg): void => {
    if (err) {
      ctx.fail(err);
      return;
    }
    const header = headerOf(m);
    const flat = flatHeaders(header);
    const incoming = incomingFromHeaders(flat);
    const msgId = flat['Nats-Msg-Id'];
    if (paused) {
      overflow += m.data.length + 64;
      if (overflow >= OVERFLOW_BYTES) leave();
    }
    void ctx.deliver({
      ...(msgId ? { naturalId: `${m.subject}/${msgId}` } : {}),
      data: { subject: m.subject, header, body: argoBody(Buffer.from(m.data), cfg.jsonBody) },
      bytes: m.data.length + 64,
      ...(incoming ? { incoming } : {}),
    });
  };
  let sub: Subscription | undefined = nc.subscribe(cfg.subject, { queue, callback: onMessage });
  await nc.flush();
  return {
    // A full window keeps the subscription (a burst is held, up to OVERFLOW_BYTES); beyond,
    // the replica leaves the queue group until half the window is free.
    pause: () => {
      paused = true;
      overflow = 0;
    },
    resume: () => {
      paused = false;
      if (!sub && !nc.isClosed()) sub = nc.subscribe(cfg.subject, { queue, callback: onMessage });
    },
    close: async () => {
      closing = true;
      await nc.close();
    },
  };
}

/** Messages asked for per JetStream pull request, and how long one waits for them (ms). */
const FETCH = { messages: 256, expiresMs: 2000 };
/** Unacknowledged messages the server lets a durable consumer have (all replicas together). */
const MAX_ACK_PENDING = 4096;
/** How long the server waits for an acknowledgement before redelivering (ms). */
const ACK_WAIT_MS = 30_000;

/** The durable consumer of an event: `jetStream.durable`, or Ganglion's own per event. */
function durableOf(ctx: BrokerContext<NATSEventsSource>): string {
  const e = ctx.event;
  return (
    ctx.config.jetStream?.durable ||
    `ganglion-${e.namespace}-${e.eventSource}-${e.eventName}`.replace(/[.*>/\\\s]/g, '_')
  );
}

function notFound(err: unknown): boolean {
  return /not found/i.test(String((err as Error | undefined)?.message ?? err));
}

/**
 * The event's durable pull consumer on `stream`, filtered on `subject`: created (explicit acks,
 * `deliverPolicy`) when it does not exist yet, refused when it exists with another filter.
 */
async function durableConsumer(
  ctx: BrokerContext<NATSEventsSource>,
  nc: NatsConnection,
  stream: string,
): Promise<string> {
  const cfg = ctx.config;
  const durable = durableOf(ctx);
  const jsm = await nc.jetstreamManager();
  await jsm.streams.info(stream).catch((err: unknown) => {
    throw notFound(err)
      ? new Error(`jetStream.stream: stream "${stream}" does not exist on ${cfg.url}`)
      : err;
  });
  let info: ConsumerInfo | undefined = await jsm.consumers
    .info(stream, durable)
    .catch((err: unknown) => {
      if (notFound(err)) return undefined;
      throw err;
    });
  info ??= await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ACK_WAIT_MS),
    max_ack_pending: MAX_ACK_PENDING,
    filter_subject: cfg.subject,
    deliver_policy: cfg.jetStream?.deliverPolicy === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
  });
  const filter = info.config.filter_subject ?? '';
  if (filter !== cfg.subject)
    throw new Error(
      `jetStream.durable: consumer "${durable}" of stream "${stream}" filters "${filter}", not subject "${cfg.subject}"`,
    );
  if (info.config.ack_policy !== AckPolicy.Explicit)
    throw new Error(
      `jetStream.durable: consumer "${durable}" of stream "${stream}" has ack policy ${info.config.ack_policy}, not explicit`,
    );
  return durable;
}

/**
 * JetStream (Ganglion's `jetStream` extension): every replica pulls from one durable consumer,
 * so the server hands each message to one of them (active-active), and each is acknowledged
 * only after the bus took its event; a message not acknowledged within the ack wait (its
 * replica died, or the bus is down) is redelivered, with the same event id: the id derives from
 * the stream and the message's stream sequence. Backpressure: the next pull request is sent
 * only once the kit has room for the messages of the last one.
 */
async function connectJetStream(
  ctx: BrokerContext<NATSEventsSource>,
  nc: NatsConnection,
): Promise<BrokerSession> {
  const cfg = ctx.config;
  const stream = cfg.jetStream!.stream;
  const durable = await durableConsumer(ctx, nc, stream);
  const consumer = await nc.jetstream().consumers.get(stream, durable);
  let closing = false;
  void nc.closed().then((err) => {
    if (!closing) ctx.fail(err ?? new Error('NATS connection closed'));
  });
  const deliver = (m: JsMsg): Promise<void> => {
    const header = headerOf(m);
    const incoming = incomingFromHeaders(flatHeaders(header));
    return ctx.deliver({
      naturalId: `${stream}:${m.seq}`,
      data: { subject: m.subject, header, body: argoBody(Buffer.from(m.data), cfg.jsonBody) },
      bytes: m.data.length + 64,
      ...(incoming ? { incoming } : {}),
      ack: () => m.ack(),
    });
  };
  const pulling = (async () => {
    while (!closing) {
      const batch = await consumer.fetch({
        max_messages: FETCH.messages,
        expires: FETCH.expiresMs,
      });
      for await (const m of batch) {
        if (closing) break;
        await deliver(m);
      }
    }
  })();
  pulling.catch((err: unknown) => {
    if (!closing) ctx.fail(err);
  });
  return {
    close: async () => {
      closing = true;
      await nc.close();
      await pulling.catch(() => undefined);
    },
  };
}
