import type { RedisStreamEventSource } from '@ganglion/api';
import type { Redis } from 'ioredis';
import type { BrokerContext, BrokerSession, BrokerSourceType } from '../kit/broker-source.js';
import { redisConnection } from '../redis/redis-client.js';

/** Entries pending this long with another consumer (a replica that died) are taken over (ms). */
const CLAIM_IDLE_MS = 30_000;
/** How long one XREADGROUP waits for new entries (ms). */
const BLOCK_MS = 1000;

type Entry = [id: string, fields: string[]];
type StreamReply = [stream: string, entries: Entry[]][] | null;

/** Argo's `RedisStreamEventData`: `{stream, message_id, values}`. */
function streamData(stream: string, id: string, fields: string[]): Record<string, unknown> {
  const values: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) values[fields[i]!] = fields[i + 1]!;
  return { stream, message_id: id, values };
}

/** The consumer group of an event: Argo's `consumerGroup`, or Argo's default name. */
function groupOf(ctx: BrokerContext<RedisStreamEventSource>): string {
  return ctx.config.consumerGroup || `argo-events-cg`;
}

/**
 * Argo's `redisStream` event source: a consumer (named after the replica) of the consumer group
 * `consumerGroup` on each of `streams` (the group is created at `$` when missing, as in Argo).
 * Each entry is published, then XACKed: a crash in between leaves it pending, and it is read
 * again (this consumer's pending entries first, at start; a dead replica's entries once idle for
 * 30 s, XAUTOCLAIM). The event id derives from the stream and entry id. Every replica reads at
 * once: the group splits the entries.
 */
/**
 * XACK of one entry, gathered: the kit acknowledges a produce request's entries together, in
 * order, so the ids acknowledged in one turn of the event loop go in one XACK per stream (one
 * command and one reply instead of one per entry). Resolves once Redis answered.
 */
function gatheredXack(acker: Redis, group: string): (stream: string, id: string) => Promise<void> {
  let ids = new Map<string, string[]>();
  let sent: Promise<void> | undefined;
  return (stream, id) => {
    let list = ids.get(stream);
    if (!list) ids.set(stream, (list = []));
    list.push(id);
    sent ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const batch = ids;
      ids = new Map();
      sent = undefined;
      await Promise.all([...batch].map(([s, list]) => acker.xack(s, group, ...list)));
    });
    return sent;
  };
}

export const redisStreamSource: BrokerSourceType<RedisStreamEventSource> = {
  type: 'redisStream',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    const streams = cfg.streams ?? [];
    if (!streams.length) throw new Error('streams is empty');
    const group = groupOf(ctx);
    const consumer = ctx.replica;
    const count = cfg.maxMsgCountPerRead || 10;
    const client: Redis = await redisConnection(ctx, `ganglion-${consumer}`);
    // Acknowledgements on their own connection: the reader's is blocked in XREADGROUP.
    const acker: Redis = await redisConnection(ctx, `ganglion-${consumer}-ack`).catch(
      async (err: unknown) => {
        client.disconnect();
        throw err;
      },
    );
    let closing = false;
    for (const c of [client, acker])
      c.on('end', () => {
        if (!closing) ctx.fail(new Error('Redis connection closed'));
      });
    for (const stream of streams)
      await client.xgroup('CREATE', stream, group, '$', 'MKSTREAM').catch((err: unknown) => {
        if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
      });

    const xack = gatheredXack(acker, group);
    const deliver = async (stream: string, entries: Entry[]): Promise<void> => {
      for (const [id, fields] of entries) {
        if (closing) return;
        if (!fields) continue; // deleted while pending
        let bytes = 64;
        for (const f of fields) bytes += f.length;
        await ctx.deliver({
          naturalId: `${stream}/${id}`,
          data: streamData(stream, id, fields),
          bytes,
          ack: () => xack(stream, id),
        });
      }
    };

    const read = async (ids: string[]): Promise<number> => {
      const reply = (await client.call(
        'XREADGROUP',
        'GROUP',
        group,
        consumer,
        'COUNT',
        count,
        ...(ids.every((i) => i === '>') ? ['BLOCK', BLOCK_MS] : []),
        'STREAMS',
        ...streams,
        ...ids,
      )) as StreamReply;
      let n = 0;
      for (const [stream, entries] of reply ?? []) {
        n += entries.length;
        await deliver(stream, entries);
      }
      return n;
    };

    const claim = async (): Promise<void> => {
      for (const stream of streams) {
        let cursor = '0-0';
        do {
          const [next, entries] = (await client.call(
            'XAUTOCLAIM',
            stream,
            group,
            consumer,
            CLAIM_IDLE_MS,
            cursor,
            'COUNT',
            count,
          )) as [string, Entry[]];
          await deliver(stream, entries);
          cursor = next;
        } while (cursor !== '0-0' && !closing);
      }
    };

    const loop = async (): Promise<void> => {
      // This consumer's own pending entries first (taken before a crash, never acknowledged).
      const after = streams.map(() => '0');
      while (!closing) {
        const reply = (await client.call(
          'XREADGROUP',
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'STREAMS',
          ...streams,
          ...after,
        )) as StreamReply;
        let any = false;
        for (const [stream, entries] of reply ?? []) {
          if (!entries.length) continue;
          any = true;
          await deliver(stream, entries);
          after[streams.indexOf(stream)] = entries.at(-1)![0];
        }
        if (!any) break;
      }
      let lastClaim = 0;
      while (!closing) {
        if (Date.now() - lastClaim >= CLAIM_IDLE_MS / 3) {
          lastClaim = Date.now();
          await claim();
        }
        await read(streams.map(() => '>'));
      }
    };
    const running = loop().catch((err: unknown) => {
      if (!closing) ctx.fail(err);
    });
    return {
      close: async () => {
        closing = true;
        client.disconnect();
        acker.disconnect();
        await running;
      },
    };
  },
};
