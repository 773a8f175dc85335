import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { kafkaBrokers, RedisServer, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * ingress-redis as processes against Debian's redis-server: pub/sub channels, one owner replica
 * at a time. Redis pub/sub has no acknowledgement and keeps nothing for absent subscribers, so
 * these tests check what it can promise: Argo's data, one subscriber (no message twice), and a
 * handover after the owner is killed.
 */
describe('ingress-redis: Redis channels bridged into the bus', { timeout: 600_000 }, () => {
  const prefix = uniquePrefix('redis-src');
  const channel = `${prefix}-orders`;
  let redis: RedisServer;
  let client: Redis;
  let ingress: BrokerIngress;

  async function publish(from: number, to: number): Promise<number> {
    let received = 0;
    for (let i = from; i < to; i += 200) {
      const pipe = client.pipeline();
      for (let j = i; j < Math.min(to, i + 200); j++)
        pipe.publish(channel, JSON.stringify({ seq: j }));
      for (const [, n] of (await pipe.exec()) ?? []) received += Number(n);
    }
    return received;
  }

  const subscribed = async (): Promise<number> =>
    Number(((await client.pubsub('NUMSUB', channel)) as [string, number])[1]);

  before(async () => {
    redis = await RedisServer.start();
    client = new Redis({ host: '127.0.0.1', port: redis.port });
    ingress = await new BrokerIngress({
      service: 'ingress-redis',
      prefix,
      brokers: await kafkaBrokers(),
      seqOf,
      eventSource: {
        name: 'redis',
        spec: {
          redis: {
            orders: {
              hostAddress: redis.hostAddress,
              channels: [channel],
              jsonBody: true,
              metadata: { team: 'payments' },
            },
          },
        },
      },
    }).start();
    await ingress.replica();
    await ingress.replica();
    await waitFor(async () => (await subscribed()) === 1, {
      timeoutMs: 60_000,
      what: 'the owner subscribed',
    });
  });

  after(async () => {
    await ingress?.stop();
    client?.disconnect();
    await redis?.stop();
  });

  it("messages arrive with Argo's data shape; exactly one replica subscribes", async () => {
    assert.equal(await publish(0, 3), 3);
    await ingress.waitForAll(0, 3, 60_000);
    const e = ingress.events.find((x) => seqOf(x.data) === 0)!;
    assert.equal(e.event.type, 'redis');
    assert.equal(e.event.subject, 'orders');
    assert.deepEqual(e.data, {
      channel,
      pattern: '',
      body: { seq: 0 },
      metadata: { team: 'payments' },
    });
    assert.equal(await subscribed(), 1);
  });

  it('2,000 messages to the owner: each on the bus once', async () => {
    assert.equal(await publish(100, 2100), 2000, 'a message had no subscriber or two');
    await ingress.waitForAll(100, 2100);
    assert.equal(ingress.duplicates(100, 2100), 0);
  });

  it('the owner SIGKILLed mid-stream of 5,000: the other replica takes over; nothing twice, and every message published to a subscriber after the handover is on the bus', async () => {
    const owner = ingress.replicas.find((r) =>
      r.records().some((l) => l['msg'] === 'broker source connected'),
    )!;
    const sending = publish(10_000, 12_000);
    await waitFor(() => [...ingress.bySeq.keys()].some((s) => s >= 10_200), {
      timeoutMs: 60_000,
      what: 'the stream to start',
    });
    await owner.stop('SIGKILL');
    await sending;
    await waitFor(async () => (await subscribed()) === 1, {
      timeoutMs: 120_000,
      what: 'the other replica subscribed',
    });
    assert.equal(await publish(12_000, 15_000), 3000);
    await ingress.waitForAll(12_000, 15_000);
    assert.equal(ingress.duplicates(10_000, 15_000), 0);
    let lost = 0;
    for (let i = 10_000; i < 12_000; i++) if (!ingress.bySeq.has(i)) lost++;
    console.log(`redis pub/sub: ${lost} of the 2,000 messages sent around the SIGKILL were lost`);
  });
});
