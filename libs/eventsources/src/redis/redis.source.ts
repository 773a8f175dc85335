import type { RedisEventSource } from '@ganglion/api';
import type { BrokerSession, BrokerSourceType } from '../kit/broker-source.js';
import { redisConnection } from './redis-client.js';

/** Bytes the owner still takes once its window is full, before it unsubscribes. */
const OVERFLOW_BYTES = 64 * 1024 * 1024;

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
 * published while no replica is subscribed (a handover, a reconnect) or while the owner is
 * unsubscribed (its window full and 64 MiB more held: the bus is slow or down; until half the
 * window is free) is lost.
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
    const channels = cfg.channels ?? [];
    let paused = false;
    let subscribed = true;
    let overflow = 0;
    client.on('message', (channel: string, message: string) => {
      if (paused) {
        overflow += message.length + 64;
        if (overflow >= OVERFLOW_BYTES && subscribed) {
          subscribed = false;
          void client.unsubscribe(...channels).catch(() => undefined);
        }
      }
      void ctx.deliver({
        data: { channel, pattern: '', body: redisBody(message, cfg.jsonBody) },
        bytes: message.length + 64,
      });
    });
    await client.subscribe(...channels);
    return {
      // A full window keeps the subscription (a burst is held, up to OVERFLOW_BYTES); beyond,
      // the owner unsubscribes until half the window is free.
      pause: () => {
        paused = true;
        overflow = 0;
      },
      resume: () => {
        paused = false;
        if (subscribed) return;
        subscribed = true;
        void client.subscribe(...channels).catch((err: unknown) => ctx.fail(err));
      },
      close: async () => {
        closing = true;
        client.disconnect();
      },
    };
  },
};
