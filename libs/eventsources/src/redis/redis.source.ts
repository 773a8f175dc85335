import type { RedisEventSource } from '@ganglion/api';
import type { BrokerSession, BrokerSourceType } from '../kit/broker-source.js';
import { redisConnection } from './redis-client.js';

/** Argo's `body` of a Redis message: the payload string, or with `jsonBody` the payload as JSON. */
function redisBody(payload: string, jsonBody: boolean | undefined): unknown {
  if (!jsonBody) return payload;
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return payload;
  }
}

/**
 * Argo's `redis` event source: SUBSCRIBE to `channels`, one event per message,
 * `{channel, pattern, body}`. Redis pub/sub has no acknowledgement and keeps nothing: a message
 * published while no replica is subscribed (a handover, a reconnect) or while the window is full
 * (the bus is slow or down: the subscription is dropped until half the window is free) is lost.
 * It runs on one owner replica at a time (every subscriber receives every message, so two
 * replicas would publish each message twice).
 */
export const redisSource: BrokerSourceType<RedisEventSource> = {
  type: 'redis',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    const client = await redisConnection(ctx, `ganglion-${ctx.replica}`);
    let closing = false;
    client.on('end', () => {
      if (!closing) ctx.fail(new Error('Redis connection closed'));
    });
    client.on('message', (channel: string, message: string) => {
      void ctx.deliver({
        data: { channel, pattern: '', body: redisBody(message, cfg.jsonBody) },
        bytes: message.length + 64,
      });
    });
    const channels = cfg.channels ?? [];
    await client.subscribe(...channels);
    return {
      pause: () => void client.unsubscribe(...channels).catch(() => undefined),
      resume: () => void client.subscribe(...channels).catch((err: unknown) => ctx.fail(err)),
      close: async () => {
        closing = true;
        client.disconnect();
      },
    };
  },
};
