import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { Partitioners, type Kafka, type PartitionMetadata } from 'kafkajs';
import {
  BatchingProducer,
  BusSaturatedError,
  cachedKeyPartitioner,
  RecordTooLargeError,
} from './batching-producer.js';
import { createKafka } from '../client/client.js';
import { ensureTopics } from '../client/topics.js';

/** Micro-batching with several produce requests in flight, on a real broker. */
describe('BatchingProducer', { timeout: 120_000 }, () => {
  const logger = createLogger('batching-producer-test', { level: 'error' });
  const prefix = uniquePrefix('batching');
  let kafka: Kafka;
  const producers: BatchingProducer[] = [];

  const topicOf = async (name: string, partitions = 1): Promise<string> => {
    const topic = `${prefix}-${name}`;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: partitions, replicationFactor: 1 }]);
    await admin.disconnect();
    return topic;
  };

  /** Every record value on the topic, in log order per partition. */
  const read = async (topic: string, expected: number): Promise<string[]> => {
    const consumer = kafka.consumer({ groupId: `${topic}-reader` });
    const values: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void values.push(message.value!.toString()),
    });
    try {
      await waitFor(() => values.length >= expected, {
        timeoutMs: 30_000,
        what: `${expected} records on ${topic}`,
      });
      return values;
    } finally {
      await consumer.disconnect();
    }
  };

  before(async () => {
    kafka = createKafka({
      brokers: (await kafkaBrokers()).split(','),
      clientId: 'batching-producer-test',
      logger,
    });
  });
  after(async () => {
    await Promise.all(producers.map((p) => p.close()));
  });

  it('keeps up to maxInFlight produce requests in flight; every record is acknowledged and written exactly once', async () => {
    const topic = await topicOf('lanes');
    let most = 0;
    const p = new BatchingProducer(kafka, {
      logger,
      maxInFlight: 3,
      maxBatch: 20,
      lingerMs: 1,
      onBatch: () => (most = Math.max(most, p.requestsInFlight)),
    });
    producers.push(p);
    const n = 600;
    await Promise.all(
      Array.from({ length: n }, (_, i) => p.send({ topic, key: 'same-key', value: `r${i}` })),
    );
    assert.equal(p.depth, 0);
    assert.ok(most > 1, `more than one produce request was in flight at once (most: ${most})`);
    assert.ok(most <= 3, `never more than maxInFlight (most: ${most})`);
    const values = await read(topic, n);
    assert.equal(values.length, n, 'no duplicates');
    assert.deepEqual(
      new Set(values),
      new Set(Array.from({ length: n }, (_, i) => `r${i}`)),
      'no loss',
    );
  });

  it('keeps a group in order even when it is split across produce requests, with other records around it', async () => {
    const topic = await topicOf('groups');
    const p = new BatchingProducer(kafka, { logger, maxInFlight: 3, maxBatch: 4, lingerMs: 0 });
    producers.push(p);
    const sends: Promise<void>[] = [];
    const groups = Array.from({ length: 5 }, () => ({}));
    // Interleaved bursts: single records and groups of 10 (each split over three batches).
    for (let round = 0; round < 5; round++) {
      sends.push(p.send({ topic, key: 'k', value: `single-${round}` }));
      for (let i = 0; i < 10; i++)
        sends.push(p.send({ topic, key: 'k', value: `g${round}-${i}`, group: groups[round]! }));
    }
    await Promise.all(sends);
    const values = await read(topic, 55);
    for (let round = 0; round < 5; round++) {
      const seq = values.filter((v) => v.startsWith(`g${round}-`));
      assert.deepEqual(
        seq,
        Array.from({ length: 10 }, (_, i) => `g${round}-${i}`),
        `group ${round} in order`,
      );
    }
  });

  it('one lane by default: records sent one after another are written in that order', async () => {
    const topic = await topicOf('ordered');
    const p = new BatchingProducer(kafka, { logger, maxBatch: 3, lingerMs: 0 });
    producers.push(p);
    let most = 0;
    const sends = Array.from({ length: 30 }, (_, i) =>
      p
        .send({ topic, key: 'k', value: `o${i}` })
        .then(() => (most = Math.max(most, p.requestsInFlight))),
    );
    await Promise.all(sends);
    assert.ok(most <= 1);
    assert.deepEqual(
      await read(topic, 30),
      Array.from({ length: 30 }, (_, i) => `o${i}`),
    );
  });

  it('refuses records beyond maxQueued with BusSaturatedError', async () => {
    const topic = await topicOf('saturated');
    const p = new BatchingProducer(kafka, { logger, maxInFlight: 2, maxQueued: 5, lingerMs: 50 });
    producers.push(p);
    const ok = Array.from({ length: 5 }, (_, i) => p.send({ topic, key: 'k', value: `s${i}` }));
    await assert.rejects(p.send({ topic, key: 'k', value: 'one too many' }), BusSaturatedError);
    await Promise.all(ok);
  });

  it('refuses records beyond maxQueuedBytes at once, frees the bytes on acknowledgement, and refuses a record larger than maxRecordBytes', async () => {
    const topic = await topicOf('bytes');
    const p = new BatchingProducer(kafka, {
      logger,
      maxQueuedBytes: 10_000,
      maxRecordBytes: 8_000,
      lingerMs: 200,
    });
    producers.push(p);
    const big = 'x'.repeat(6_000);
    const first = p.send({ topic, key: 'k', value: big });
    assert.ok(p.depthBytes > 6_000);
    const saturated = await p.send({ topic, key: 'k', value: big }).catch((e: unknown) => e);
    assert.ok(saturated instanceof BusSaturatedError);
    assert.ok(saturated.queuedBytes > 6_000);
    await assert.rejects(
      p.send({ topic, key: 'k', value: 'y'.repeat(9_000) }),
      RecordTooLargeError,
    );
    // A small record still fits beside the first.
    await Promise.all([first, p.send({ topic, key: 'k', value: 'small' })]);
    assert.equal(p.depthBytes, 0);
    // A record is always accepted into an empty queue when it is within maxRecordBytes.
    await p.send({ topic, key: 'k', value: big });
    assert.deepEqual(
      (await read(topic, 3)).map((v) => v.length),
      [6_000, 5, 6_000],
    );
  });

  it("cachedKeyPartitioner picks the partition kafkajs's DefaultPartitioner picks", () => {
    const cached = cachedKeyPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    const meta = (n: number): PartitionMetadata[] =>
      Array.from({ length: n }, (_, i) => ({
        partitionId: i,
        leader: i === 1 ? -1 : 0,
        replicas: [0],
        isr: [0],
        partitionErrorCode: 0,
      }));
    for (const n of [1, 3, 7, 12])
      for (let i = 0; i < 200; i++)
        for (let round = 0; round < 2; round++) {
          const args = {
            topic: `t${n}`,
            partitionMetadata: meta(n),
            message: { key: `source-${i}.event`, value: null },
          };
          assert.equal(cached(args), reference(args), `key source-${i}.event over ${n} partitions`);
        }
    const explicit = {
      topic: 't',
      partitionMetadata: meta(3),
      message: { key: 'k', value: null, partition: 2 },
    };
    assert.equal(cached(explicit), 2);
  });
});
