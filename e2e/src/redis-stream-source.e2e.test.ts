import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { KafkaBroker, RedisServer, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const seqOf = (data: Record<string, unknown>): number | undefined => {
  const v = (data['values'] as Record<string, string> | undefined)?.['seq'];
  return v === undefined ? undefined : Number(v);
};

/**
 * ingress-redisstream as processes against Debian's redis-server: a consumer group read by every
 * replica, each entry XACKed only after the bus acknowledged its event. The bus is a broker of
 * the test's own, so it can be stopped.
 */
describe('ingress-redisstream: Redis streams bridged into the bus', { timeout: 900_000 }, () => {
  const prefix = uniquePrefix('rstream-src');
  const stream = `${prefix}-orders`;
  const group = `${prefix}-group`;
  let redis: RedisServer;
  let client: Redis;
  let bus: KafkaBroker;
  let ingress: BrokerIngress;
  /** Entry id of each sequence number. */
  const entryIds = new Map<number, string>();

  async function publish(from: number, to: number): Promise<void> {
    for (let i = from; i < to; i += 200) {
      const pipe = client.pipeline();
      for (let j = i; j < Math.min(to, i + 200); j++) pipe.xadd(stream, '*', 'seq', String(j));
      const res = await pipe.exec();
      res?.forEach(([, id], k) => entryIds.set(i + k, String(id)));
    }
  }

  /** Entries delivered to the group but not acknowledged. */
  const pending = async (): Promise<number> =>
    Number(((await client.xpending(stream, group)) as [number])[0]);

  before(async () => {
    redis = await RedisServer.start();
    client = new Redis({ host: '127.0.0.1', port: redis.port });
    bus = await KafkaBroker.start({ heap: '384m' });
    ingress = await new BrokerIngress({
      service: 'ingress-redisstream',
      prefix,
      brokers: bus.brokers,
      seqOf,
      eventSource: {
        name: 'redis-stream',
        spec: {
          redisStream: {
            orders: {
              hostAddress: redis.hostAddress,
              streams: [stream],
              consumerGroup: group,
              maxMsgCountPerRead: 50,
              metadata: { team: 'payments' },
            },
          },
        },
      },
    });
    // A fresh broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment: retried.
    await waitFor(() => ingress.start().then(() => true), {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: 'the bus topics',
    });
    await ingress.replica();
    await ingress.replica();
    // The group exists (created at "$" by the first replica) before anything is added.
    await waitFor(
      async () =>
        ((await client.xinfo('GROUPS', stream).catch(() => [])) as unknown[]).length === 1,
      { timeoutMs: 60_000, what: 'the consumer group' },
    );
  });

  after(async () => {
    await ingress?.stop();
    client?.disconnect();
    await redis?.stop();
    await bus?.destroy();
  });

  it("entries arrive with Argo's data shape and ids from the entry id", async () => {
    await publish(0, 3);
    await ingress.waitForAll(0, 3, 60_000);
    const e = ingress.events.find((x) => seqOf(x.data) === 0)!;
    assert.equal(e.event.type, 'redisStream');
    assert.equal(e.event.subject, 'orders');
    assert.deepEqual(e.data, {
      stream,
      message_id: entryIds.get(0),
      values: { seq: '0' },
      metadata: { team: 'payments' },
    });
    const expected = createHash('sha256')
      .update(`default\0redis-stream\0orders\0${stream}/${entryIds.get(0)}`)
      .digest('hex')
      .slice(0, 32);
    assert.equal(e.id, expected);
    await waitFor(async () => (await pending()) === 0, { what: 'the entries acknowledged' });
  });

  it('two replicas in the group: 2,000 entries, none twice', async () => {
    await publish(100, 2100);
    await ingress.waitForAll(100, 2100);
    assert.equal(ingress.duplicates(100, 2100), 0, 'an entry reached the bus twice');
    const consumers = (await client.xinfo('CONSUMERS', stream, group)) as unknown[][];
    assert.equal(consumers.length, 2);
  });

  it('a replica SIGKILLed mid-stream of 5,000: every entry on the bus, duplicates only with the same id', async () => {
    const victim = ingress.replicas[0]!;
    const sending = publish(10_000, 15_000);
    await waitFor(() => [...ingress.bySeq.keys()].some((s) => s >= 11_000), {
      timeoutMs: 120_000,
      what: 'the stream to start',
    });
    await victim.stop('SIGKILL');
    await sending;
    // The killed consumer's pending entries are claimed by the survivor once idle for 30 s.
    await ingress.waitForAll(10_000, 15_000, 300_000);
    ingress.assertOneIdPerMessage(10_000, 15_000);
    await waitFor(async () => (await pending()) === 0, {
      timeoutMs: 60_000,
      what: 'every entry acknowledged',
    });
  });

  it('bus down: the stream is not drained (entries stay pending or unread), nothing lost when it is back', async () => {
    await bus.stop();
    await publish(20_000, 23_000);
    const failures = (): number =>
      ingress.replicas
        .filter((r) => r.running)
        .flatMap((r) => r.records())
        .filter((l) => l['msg'] === 'event not published; retrying').length;
    await waitFor(() => failures() > 0, {
      timeoutMs: 120_000,
      what: 'the ingress to fail publishing while the bus is down',
    });
    // Nothing was acknowledged while the bus was down: every entry read is still pending.
    const info = (await client.xinfo('GROUPS', stream)) as (string | number)[][];
    const fields = Object.fromEntries(
      info[0]!.reduce<[string, unknown][]>((acc, v, i, a) => {
        if (i % 2 === 0) acc.push([String(v), a[i + 1]]);
        return acc;
      }, []),
    );
    const unread = Number(fields['lag'] ?? 0);
    assert.equal(
      (await pending()) + unread,
      3000,
      'entries were acknowledged while the bus was down',
    );
    await bus.resume();
    await ingress.waitForAll(20_000, 23_000, 300_000);
    ingress.assertOneIdPerMessage(20_000, 23_000);
  });
});
