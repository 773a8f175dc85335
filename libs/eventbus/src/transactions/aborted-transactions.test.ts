import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka, TRANSACTION_RETRY } from '../client/client.js';
import { TopicReader } from '../readers/topic-reader.js';

const logger = createLogger('test', { level: 'error' });

/**
 * kafkajs 2.2.4 filters aborted records assuming the broker lists a fetch's aborted
 * transactions by first offset, one starting per record. The broker lists them in the order
 * their abort markers were written, so when a transaction that started earlier is aborted
 * later (a new owner fencing the partitions' producers one after the other) its records were
 * handed to read_committed consumers: duplicated actions downstream. The repository patches
 * kafkajs (patches/kafkajs@2.2.4.patch); these tests fail without the patch.
 */
describe(
  'read_committed consumers never see aborted records (patched kafkajs, real broker)',
  { timeout: 120_000 },
  () => {
    let kafka: Kafka;
    let admin: Admin;
    const producers: Producer[] = [];
    const prefix = uniquePrefix('aborted');

    before(async () => {
      kafka = createKafka({ brokers: [await kafkaBrokers()], clientId: prefix, logger });
      admin = kafka.admin();
      await admin.connect();
    });

    after(async () => {
      for (const p of producers) await p.disconnect().catch(() => undefined);
      await admin?.disconnect();
    });

    async function transactional(id: string): Promise<Producer> {
      const p = kafka.producer({
        transactionalId: `${prefix}-${id}`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTION_RETRY },
      });
      producers.push(p);
      await p.connect();
      return p;
    }

    async function topicWith(name: string): Promise<string> {
      const topic = `${prefix}-${name}`;
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      return topic;
    }

    const values = (n: number, tag: string): { value: string }[] =>
      Array.from({ length: n }, (_, i) => ({ value: `${tag}-${i}` }));

    /** Reads the topic from its beginning until `last` arrives; every value seen. */
    async function readAll(topic: string, last: string): Promise<string[]> {
      const seen: string[] = [];
      const reader = new TopicReader({
        kafka,
        topics: [topic],
        logger,
        groupPrefix: `${prefix}-reader`,
        onRecord: (_t, _p, m) => void seen.push(m.value?.toString('utf8') ?? ''),
      });
      await reader.start();
      try {
        await waitFor(() => seen.includes(last), {
          timeoutMs: 30_000,
          what: `"${last}" read back`,
        });
      } finally {
        await reader.stop();
      }
      return seen;
    }

    it('a transaction that started first but was aborted last stays invisible', async () => {
      const topic = await topicWith('order');
      const early = await transactional('early');
      const late = await transactional('late');
      const t1 = await early.transaction();
      await t1.send({ topic, messages: values(5, 'early-aborted') });
      const t2 = await late.transaction();
      await t2.send({ topic, messages: values(5, 'late-aborted') });
      // Abort markers in the reverse order of the transactions' first offsets.
      await t2.abort();
      await t1.abort();
      const t3 = await late.transaction();
      await t3.send({ topic, messages: [{ value: 'committed' }] });
      await t3.commit();
      assert.deepEqual(await readAll(topic, 'committed'), ['committed']);
    });

    it('a fetch starting inside several aborted transactions skips all of them', async () => {
      const topic = await topicWith('middle');
      const p1 = await transactional('p1');
      const p2 = await transactional('p2');
      const t1 = await p1.transaction();
      const t2 = await p2.transaction();
      await t1.send({ topic, messages: values(3, 'p1-a') }); // offsets 0..2
      await t2.send({ topic, messages: values(3, 'p2-a') }); // 3..5
      await t2.send({ topic, messages: values(3, 'p2-b') }); // 6..8: the fetch starts here
      await t1.send({ topic, messages: values(3, 'p1-b') }); // 9..11
      await t1.abort();
      await t2.abort();
      const t3 = await p1.transaction();
      await t3.send({ topic, messages: [{ value: 'committed' }] });
      await t3.commit();
      // A group whose committed offset lies inside both aborted transactions.
      const groupId = `${prefix}-mid-group`;
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '6' }] });
      const seen: string[] = [];
      const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic] });
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ message }) => void seen.push(message.value?.toString('utf8') ?? ''),
        });
        await waitFor(() => seen.includes('committed'), {
          timeoutMs: 30_000,
          what: 'the committed record',
        });
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual(seen, ['committed']);
    });
  },
);
