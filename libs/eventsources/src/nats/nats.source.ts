import type { NATSEventsSource } from '@ganglion/api';
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type Msg,
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
function headerOf(m: Msg): Record<string, string[]> | null {
  if (!m.headers) return null;
  const out: Record<string, string[]> = {};
  for (const [k, v] of m.headers) out[k] = v;
  return out;
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
 * Argo's `nats` event source (core NATS: Argo's model has no JetStream consumer). Core NATS has
 * no acknowledgement: a message is the subscriber's once the server sent it. The replicas join
 * one queue group, so each message goes to one of them; when a replica's window is full (the
 * bus is slow or down) it holds up to 64 MiB more, then leaves the queue group until half the
 * window is free, so the server
 * gives the messages to the other replicas — or, when every replica has left, drops them (core
 * NATS keeps nothing for absent subscribers). A message's `Nats-Msg-Id` header (JetStream's
 * deduplication id), when present, gives the event id.
 */
export const natsSource: BrokerSourceType<NATSEventsSource> = {
  type: 'nats',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    const nc: NatsConnection = await connect(await connectionOptions(ctx));
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
      const flat: Record<string, string> = {};
      if (header) for (const [k, v] of Object.entries(header)) if (v.length) flat[k] = v[0]!;
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
  },
};
