import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Consumer, ConsumerGroupMetadata, Kafka, Producer } from 'kafkajs';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka } from '../client/client.js';
import { TopicReader } from '../readers/topic-reader.js';
import { transactionalProducer } from './transactional-producer.test-support.js';

const logger = createLogger('test', { level: 'error' });

/**
 * The kafkajs patch's KIP-447 offset commit: `sendOffsets` with the consumer group metadata goes
 * out as TxnOffsetCommit v3 (flexible), and the group coordinator checks the member against the
 * group's current generation. A stale generation or an unknown member fails the transaction
 * (the error surfaces, not retried); after the abort, nothing of it is visible and no offset
 * moved. Without the patch the metadata is ignored (v1) and the stale commits succeed.
 */
describe(
  'TxnOffsetCommit v3 with consumer group metadata (patched kafkajs, real broker)',
  { timeout: 120_000 },
  () => {
    let kafka: Kafka;
    let admin: Admin;
    const prefix = uniquePrefix('kip447');
    const topic = `${prefix}-in`;
    const output = `${prefix}-out`;
    const groupId = `${prefix}-group`;
    const cleanup: (() => Promise<unknown>)[] = [];

    before(async () => {
      kafka = createKafka({ brokers: [await kafkaBrokers()], clientId: prefix, logger });
      admin = kafka.admin();
      await admin.connect();
      cleanup.push(() => admin.disconnect());
      await admin.createTopics({
        topics: [
          { topic, numPartitions: 2, replicationFactor: 1 },
          { topic: output, numPartitions: 1, replicationFactor: 1 },
        ],
        waitForLeaders: true,
      });
    });
    after(async () => {
      for (const f of cleanup.reverse()) await f().catch(() => undefined);
    });

    /** A group member whose joins (generation, member id) are recorded. */
    async function member(): Promise<{ consumer: Consumer; joins: ConsumerGroupMetadata[] }> {
      const consumer = kafka.consumer({
        groupId,
        sessionTimeout: 6_000,
        heartbeatInterval: 300,
        maxWaitTimeInMs: 50,
      });
      const joins: ConsumerGroupMetadata[] = [];
      consumer.on(consumer.events.GROUP_JOIN, (e) =>
        joins.push({ generationId: e.payload.generationId, memberId: e.payload.memberId }),
      );
      await consumer.connect();
      cleanup.push(() => consumer.disconnect());
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
      return { consumer, joins };
    }

    async function committed(): Promise<string | undefined> {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return t?.partitions.find((p) => p.partition === 0)?.offset;
    }

    /** A transaction with one output record and offset `offset` of partition 0. */
    async function commit(
      producer: Producer,
      value: string,
      offset: string,
      consumerGroupMetadata: ConsumerGroupMetadata,
    ): Promise<void> {
      const txn = await producer.transaction();
      try {
        await txn.send({ topic: output, messages: [{ value }], acks: -1 });
        await txn.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic, partitions: [{ partition: 0, offset }] }],
          consumerGroupMetadata,
        });
        await txn.commit();
      } catch (err) {
        await txn.abort();
        throw err;
      }
    }

    it('commits with the current generation; a stale generation or an unknown member fails the transaction and leaves nothing', async () => {
      // Input records up to the offsets committed (a member fetching past the end would reset them).
      const plain = kafka.producer();
      await plain.connect();
      await plain.send({
        topic,
        messages: Array.from({ length: 10 }, (_, i) => ({ value: `in${i}`, partition: 0 })),
      });
      await plain.disconnect();
      const first = await member();
      await waitFor(() => first.joins.length > 0, { timeoutMs: 30_000, what: 'the first join' });
      const producer = await transactionalProducer(kafka, `${prefix}-txn`);
      cleanup.push(() => producer.disconnect());

      const generation1 = first.joins.at(-1)!;
      await commit(producer, 'current', '5', generation1);
      // Committed offsets show once the transaction's markers are written (after EndTxn returns).
      await waitFor(async () => (await committed()) === '5', {
        timeoutMs: 30_000,
        what: 'offset 5 committed',
      });

      // A second member joins: the group moves to a new generation, the first member rejoins.
      const second = await member();
      await waitFor(
        () =>
          second.joins.length > 0 &&
          first.joins.some((j) => j.generationId > generation1.generationId),
        { timeoutMs: 60_000, what: 'the rebalance to a new generation' },
      );
      const stale = commit(producer, 'stale', '7', generation1);
      await assert.rejects(stale, (err: { type?: string }) => {
        assert.equal(err.type, 'ILLEGAL_GENERATION');
        return true;
      });
      const generation2 = first.joins.at(-1)!;
      await assert.rejects(
        commit(producer, 'unknown member', '8', { ...generation2, memberId: `${prefix}-nobody` }),
        (err: { type?: string }) => {
          assert.equal(err.type, 'UNKNOWN_MEMBER_ID');
          return true;
        },
      );
      assert.equal(await committed(), '5', 'the rejected commits moved no offset');

      // The producer is usable again, and read_committed readers see only the committed records.
      await commit(producer, 'after', '9', generation2);
      await waitFor(async () => (await committed()) === '9', {
        timeoutMs: 30_000,
        what: 'offset 9 committed',
      });
      const seen: string[] = [];
      const reader = new TopicReader({
        kafka,
        topics: [output],
        logger,
        onRecord: (_t, _p, m) => void seen.push(m.value?.toString() ?? ''),
      });
      cleanup.push(() => reader.stop());
      await reader.start();
      await waitFor(() => seen.includes('after'), {
        timeoutMs: 30_000,
        what: 'the last record read',
      });
      assert.deepEqual(seen, ['current', 'after']);
    });
  },
);
