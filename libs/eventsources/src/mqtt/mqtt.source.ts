import { createHash } from 'node:crypto';
import type { MQTTEventSource } from '@ganglion/api';
import { connectAsync, type IClientOptions, type IPublishPacket } from 'mqtt';
import { argoBody, type BrokerSession, type BrokerSourceType } from '../kit/broker-source.js';

/** Argo's `tcp://host:port` as MQTT.js's `mqtt://host:port` (`ssl://` → `mqtts://`). */
function brokerUrl(url: string): string {
  return url.replace(/^tcp:\/\//, 'mqtt://').replace(/^ssl:\/\//, 'mqtts://');
}

/**
 * Argo's `mqtt` event source, with the strongest delivery MQTT 3.1.1 has: a persistent session
 * (`clean: false`, the configured `clientId`) subscribed at QoS 1, and each message's PUBACK sent
 * only after the bus acknowledged its event. A crash before the PUBACK makes the broker send the
 * message again (same packet id, DUP), and messages published while no replica is connected
 * are queued by the broker for the session (up to its `max_queued_messages`). The event id
 * derives from the client id, topic, packet id and a digest of the payload, so a redelivery
 * keeps its id. Runs on one owner replica at a time (one session per client id).
 */
export const mqttSource: BrokerSourceType<MQTTEventSource> = {
  type: 'mqtt',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    const options: IClientOptions = {
      clientId: cfg.clientId,
      clean: false,
      protocolVersion: 4,
      // Reconnects are the kit's (connectionBackoff).
      reconnectPeriod: 0,
      connectTimeout: 5000,
      keepalive: 30,
    };
    if (cfg.auth) {
      const username = await ctx.optionalSecret(cfg.auth.username);
      const password = await ctx.optionalSecret(cfg.auth.password);
      if (username) options.username = username;
      if (password) options.password = password;
    }
    const tls = await ctx.tls(cfg.tls);
    if (tls) Object.assign(options, tls);
    const client = await connectAsync(brokerUrl(cfg.url), options);
    let closing = false;
    client.on('close', () => {
      if (!closing) ctx.fail(new Error('MQTT connection closed'));
    });
    client.on('error', (err) => {
      if (!closing) ctx.fail(err);
    });
    // QoS 1: MQTT.js sends the PUBACK when this callback is called, and reads the next packet
    // only after that, so the broker's in-flight limit bounds what waits here.
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void): void => {
      const payload =
        typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const digest = createHash('sha256').update(payload).digest('hex').slice(0, 16);
      void ctx.deliver({
        naturalId: `${cfg.clientId}/${packet.topic}/${packet.messageId ?? 0}/${digest}`,
        data: {
          topic: packet.topic,
          messageId: packet.messageId ?? 0,
          body: argoBody(payload, cfg.jsonBody),
        },
        bytes: payload.length + 64,
        ack: () => callback(),
      });
    };
    await client.subscribeAsync(cfg.topic, { qos: 1 });
    return {
      close: async () => {
        closing = true;
        await client.endAsync(true).catch(() => undefined);
      },
    };
  },
};
