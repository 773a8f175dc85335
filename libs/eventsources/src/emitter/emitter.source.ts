import { createHash } from 'node:crypto';
import type { EmitterEventSource } from '@ganglion/api';
import { connect, type IClientOptions, type IPublishPacket } from 'mqtt';
import {
  argoBody,
  type BrokerSession,
  type BrokerSourceType,
  type CommonBrokerConfig,
} from '../kit/broker-source.js';

type EmitterConfig = EmitterEventSource & CommonBrokerConfig;

/**
 * The MQTT topic of an emitter channel, as emitter's clients build it: `<key>/<channel>/`
 * (both trimmed of their leading and trailing `/`; options such as `?last=5` are not used).
 */
export function emitterTopic(channelKey: string, channelName: string): string {
  const trim = (s: string): string => s.replace(/^\//, '').replace(/\/$/, '');
  return `${trim(channelKey)}/${trim(channelName)}/`;
}

/** Argo's `tcp://host:port` as MQTT.js's `mqtt://host:port` (`ssl://`, `tls://` → `mqtts://`). */
function brokerUrl(url: string): string {
  const withScheme = /^[a-z]+:\/\//.test(url) ? url : `tcp://${url}`;
  return withScheme.replace(/^tcp:\/\//, 'mqtt://').replace(/^(ssl|tls):\/\//, 'mqtts://');
}

/**
 * Argo's `emitter` source: emitter (emitter.io) speaks MQTT 3.1.1, with channels addressed as
 * `<channelKey>/<channelName>/`. Argo subscribes at QoS 0 with a random client id; Ganglion
 * uses the strongest delivery MQTT has: a persistent session (`clean: false`, a client id
 * fixed per event, `ganglion-<namespace>-<eventSource>-<event>`) subscribed at QoS 1, with each
 * message's PUBACK sent only after the bus has its event. Whether the emitter broker redelivers
 * unacknowledged QoS 1 messages or queues them for a disconnected session is the broker's
 * choice: emitter documents no acknowledgement semantics, so the docs page treats the type as
 * unacknowledged. One owner replica at a time (kind `owned`: one session per client id).
 */
export const emitterSource: BrokerSourceType<EmitterConfig> = {
  type: 'emitter',
  async connect(ctx): Promise<BrokerSession> {
    const c = ctx.config;
    const e = ctx.event;
    const clientId = `ganglion-${e.namespace}-${e.eventSource}-${e.eventName}`;
    const options: IClientOptions = {
      clientId,
      clean: false,
      protocolVersion: 4,
      // Reconnects are the kit's (connectionBackoff).
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: 30,
    };
    const username = await ctx.optionalSecret(c.username);
    const password = await ctx.optionalSecret(c.password);
    if (username !== undefined) options.username = username;
    if (password !== undefined) options.password = password;
    const tls = await ctx.tls(c.tls);
    if (tls) Object.assign(options, tls);
    // The handler is in place before the CONNACK: a resumed session's queued messages arrive
    // right after it, and MQTT.js's default handler would acknowledge them unpublished.
    const client = connect(brokerUrl(c.broker), options);
    const topic = emitterTopic(c.channelKey, c.channelName);
    let closing = false;
    // MQTT.js sends a QoS 1 message's PUBACK when this callback is called and reads the next
    // packet only after it: the broker's in-flight limit bounds what waits here.
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void): void => {
      const payload =
        typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      // emitter's own messages (errors, presence, keygen answers) are not channel events.
      if (packet.topic.startsWith('emitter/')) {
        ctx.logger.warn('emitter: broker message', {
          topic: packet.topic,
          payload: payload.toString('utf8').slice(0, 500),
        });
        callback();
        return;
      }
      // A QoS 1 message is redelivered with its packet id: its id derives from it (and the
      // payload, as packet ids are reused); a QoS 0 message has no identity (a random id).
      const digest = createHash('sha256').update(payload).digest('hex').slice(0, 16);
      void ctx.deliver({
        ...(packet.qos > 0
          ? { naturalId: `${clientId}/${packet.topic}/${packet.messageId ?? 0}/${digest}` }
          : {}),
        data: { topic: packet.topic, body: argoBody(payload, c.jsonBody) },
        bytes: payload.length + 64,
        ack: () => callback(),
      });
    };
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        client.off('connect', onConnect);
        client.off('error', onError);
        client.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onConnect = (): void => done();
      const onError = (err: Error): void => done(err);
      const onClose = (): void => done(new Error(`emitter: could not connect to ${c.broker}`));
      client.once('connect', onConnect);
      client.once('error', onError);
      client.once('close', onClose);
    }).catch(async (err: unknown) => {
      closing = true;
      await client.endAsync(true).catch(() => undefined);
      throw err;
    });
    client.on('close', () => {
      if (!closing) ctx.fail(new Error('emitter: connection closed'));
    });
    client.on('error', (err) => {
      if (!closing) ctx.fail(err);
    });
    await client.subscribeAsync(topic, { qos: 1 });
    return {
      close: async () => {
        closing = true;
        await client.endAsync(true).catch(() => undefined);
      },
    };
  },
};
