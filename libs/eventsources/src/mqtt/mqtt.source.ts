import { createHash } from 'node:crypto';
import type { MQTTEventSource } from '@ganglion/api';
import { connect as mqttConnect, type IClientOptions, type IPublishPacket } from 'mqtt';
import { argoBody, type BrokerSession, type BrokerSourceType } from '../kit/broker-source.js';

/** A QoS 1 message's PUBACK, held until the bus acknowledged the event. */
interface Held {
  acked: boolean;
  /** The PUBACK, once MQTT.js wrote it (sent at once if already acked). */
  send?: () => void;
}

/** Argo's `tcp://host:port` as MQTT.js's `mqtt://host:port` (`ssl://` → `mqtts://`). */
function brokerUrl(url: string): string {
  return url.replace(/^tcp:\/\//, 'mqtt://').replace(/^ssl:\/\//, 'mqtts://');
}

/**
 * Argo's `mqtt` event source, with the strongest delivery MQTT 3.1.1 has: a persistent session
 * (`clean: false`, the configured `clientId`) subscribed at QoS 1, and each message's PUBACK sent
 * only after the bus acknowledged its event. A crash before the PUBACK makes the broker send the
 * message again (same packet id, DUP), and messages published while no replica is connected
 * are queued by the broker for the session (up to its `max_queued_messages`). Up to the
 * broker's in-flight limit of messages are handled at once, their PUBACKs sent in order. The event id
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
    // Connected only after the handlers below are in place: a persistent session's queued
    // messages arrive right after CONNACK, and MQTT.js's default handler would PUBACK them.
    const client = mqttConnect(brokerUrl(cfg.url), options);
    // Each PUBACK is a small write the broker waits for before counting the next in-flight
    // message: without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold it ~40 ms.
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    // QoS 1: MQTT.js sends a message's PUBACK when `handleMessage` calls back, and reads the
    // next packet only after that; one bus round trip per message would bound the rate. So the
    // callback is called at once and the PUBACK itself is held until the bus acknowledged the
    // event (in order): the broker's in-flight limit (mosquitto `max_inflight_messages`)
    // bounds what waits. `_sendPacket` is MQTT.js's (pinned major version) packet writer.
    const held = new Map<number, Held>();
    const writer = client as unknown as {
      _sendPacket(
        packet: { cmd: string; messageId?: number },
        cb?: () => void,
        ...rest: unknown[]
      ): void;
    };
    const sendPacket = writer._sendPacket.bind(client);
    writer._sendPacket = (packet, cb, ...rest) => {
      const h = packet.cmd === 'puback' ? held.get(packet.messageId ?? -1) : undefined;
      if (!h) return sendPacket(packet, cb, ...rest);
      const send = (): void => {
        held.delete(packet.messageId!);
        sendPacket(packet, undefined, ...rest);
      };
      if (h.acked) send();
      else h.send = send;
      cb?.();
    };
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void): void => {
      const payload =
        typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const digest = createHash('sha256').update(payload).digest('hex').slice(0, 16);
      const id = packet.messageId;
      const h: Held | undefined =
        packet.qos === 1 && id !== undefined ? { acked: false } : undefined;
      if (h) held.set(id!, h);
      void ctx.deliver({
        naturalId: `${cfg.clientId}/${packet.topic}/${id ?? 0}/${digest}`,
        data: { topic: packet.topic, messageId: id ?? 0, body: argoBody(payload, cfg.jsonBody) },
        bytes: payload.length + 64,
        ack: () => {
          if (!h) return;
          h.acked = true;
          h.send?.();
        },
      });
      callback();
    };
    let closing = false;
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('MQTT connection closed before CONNACK')));
      });
    } catch (err) {
      await client.endAsync(true).catch(() => undefined);
      throw err;
    }
    client.on('close', () => {
      if (!closing) ctx.fail(new Error('MQTT connection closed'));
    });
    client.on('error', (err) => {
      if (!closing) ctx.fail(err);
    });
    await client.subscribeAsync(cfg.topic, { qos: 1 });
    return {
      close: async () => {
        closing = true;
        await client.endAsync(true).catch(() => undefined);
      },
    };
  },
};
