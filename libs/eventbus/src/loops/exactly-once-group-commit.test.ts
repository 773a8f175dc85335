import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import type { Kafka, Producer } from 'kafkajs';
import { createKafka, TRANSACTION_RETRY } from '../client/client.js';
import {
  ExactlyOnceLoop,
  type TransactionInfo,
  type TransactionScope,
} from './exactly-once-loop.js';
import { TopicReader } from '../readers/topic-reader.js';
import { ensureTopics } from '../client/topics.js';

/**
 * Group commit on a real broker: batches processed while a partition's transaction commits ride
 * the next one, and a failed transaction drops every uncommitted batch and resumes from the
 * committed offset. The failure is made deterministic by fencing a partition's transactional id
 * from outside (what a new owner does to a zombie), in the middle of the stream.
 */
const scopes: TransactionScope[] = ['partition', 'replica'];
for (const scope of scopes)
  describe(`ExactlyOnceLoop group commit, ${scope} scope`, { timeout: 180_000 }, () => {
    const logger = createLogger('group-commit-test', { level: 'error' });
    const prefix = uniquePrefix(`groupcommit-${scope}`);
    const instanceId = 'replica-a';
    const input = `${prefix}-in`;
    const output = `${prefix}-out`;
    const groupId = `${prefix}-group`;
    let kafka: Kafka;
    let producer: Producer;
    const cleanup: (() => Promise<unknown>)[] = [];
    const createTopics = async (topics: string[], numPartitions: number): Promise<void> => {
      const admin = kafka.admin();
      await admin.connect();
      await ensureTopics(
        admin,
        topics.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })),
      );
      await admin.disconnect();
    };

    before(async () => {
      kafka = createKafka({
        brokers: (await kafkaBrokers()).split(','),
        clientId: 'group-commit-test',
        logger,
      });
      await createTopics([input, output], 2);
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      cleanup.push(() => producer.disconnect());
    });
    after(async () => {
      for (const f of cleanup.reverse()) await f().catch(() => undefined);
    });

    const send = async (from: number, count: number): Promise<void> => {
      for (let i = from; i < from + count; i += 50) {
        const messages = Array.from({ length: Math.min(50, from + count - i) }, (_, j) => ({
          key: `k${(i + j) % 2}`,
          value: `m${i + j}`,
          partition: (i + j) % 2,
        }));
        await producer.send({ topic: input, acks: -1, messages });
      }
    };

    it('outputs every record exactly once through a fenced, failed transaction mid-stream', async () => {
      const transactions: TransactionInfo[] = [];
      let batches = 0;
      const loop = new ExactlyOnceLoop({
        kafka,
        groupId,
        topics: [input],
        transactionScope: scope,
        instanceId,
        logger,
        maxWaitMs: 10,
        processor: {
          process: ({ messages, partition }) => {
            batches++;
            return messages.map((m) => ({
              topic: output,
              partition,
              key: m.key?.toString() ?? '',
              value: m.value?.toString() ?? '',
            }));
          },
        },
        onTransaction: (t) => transactions.push(t),
      });
      cleanup.push(() => loop.stop());
      const seen = new Map<string, number>();
      const reader = new TopicReader({
        kafka,
        topics: [output],
        logger,
        maxWaitMs: 10,
        onRecord: (_t, _p, m) => {
          const v = m.value?.toString() ?? '';
          seen.set(v, (seen.get(v) ?? 0) + 1);
        },
      });
      cleanup.push(() => reader.stop());
      await reader.start();
      await loop.start();
      await loop.joined;

      await send(0, 1_000);
      await waitFor(
        () => transactions.some((t) => t.ok && t.parts.some((p) => p.partition === 0)),
        {
          timeoutMs: 60_000,
          what: 'a committed transaction of partition 0',
        },
      );

      // What a new owner does: initialise partition 0's transactional id, which fences the loop's
      // producer. Its next transaction fails; the partition must resume from the committed offset.
      // (In replica scope: the replica's id, what the same replica restarted does; every partition
      // of the failed transaction resumes from its committed offset.)
      const fencer = kafka.producer({
        transactionalId:
          scope === 'partition' ? `${groupId}-${input}-0` : `${groupId}-${instanceId}`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTION_RETRY },
      });
      await fencer.connect();
      cleanup.push(() => fencer.disconnect());
      const fence = await fencer.transaction();
      await fence.abort();

      await send(1_000, 1_000);
      await waitFor(
        () =>
          transactions.some(
            (t) => !t.ok && (scope === 'replica' || t.parts.some((p) => p.partition === 0)),
          ),
        {
          timeoutMs: 60_000,
          what: 'the fenced transaction to fail',
        },
      );
      await waitFor(() => seen.size === 2_000, {
        timeoutMs: 120_000,
        what: '2,000 distinct outputs',
      });
      // The committed offsets reach the end of the input: nothing left to (re)process.
      const admin = kafka.admin();
      await admin.connect();
      cleanup.push(() => admin.disconnect());
      await waitFor(
        async () => {
          const [t] = await admin.fetchOffsets({ groupId, topics: [input] });
          return t!.partitions.length === 2 && t!.partitions.every((p) => p.offset === '1000');
        },
        { timeoutMs: 60_000, what: 'the committed offsets at the end of the input' },
      );
      const twice = [...seen].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], 'no output record twice');
      for (let i = 0; i < 2_000; i++) assert.equal(seen.get(`m${i}`), 1, `m${i} exactly once`);
      // Each input record is in exactly one committed transaction; those of the failed one (and
      // the batches waiting behind it) were committed again after the partition reopened.
      const committedInputs = transactions.filter((t) => t.ok).reduce((n, t) => n + t.inputs, 0);
      assert.equal(committedInputs, 2_000);
      assert.ok(
        transactions.filter((t) => t.ok).length <= batches,
        'never more transactions than batches',
      );
    });

    it('keeps consuming when opening a partition fails: the batch is fetched again and the partition opened anew', async () => {
      const input2 = `${prefix}-in2`;
      const output2 = `${prefix}-out2`;
      await createTopics([input2, output2], 1);
      // The first opens fail (the eager open at assignment, then those the first batches wait
      // for), as when the broker is not back yet: the loop must retry and lose nothing, and more
      // failures than the client's retries (3) must not crash the consumer into a rejoin.
      const FAILING_OPENS = 6;
      let opens = 0;
      const loop = new ExactlyOnceLoop({
        kafka,
        groupId: `${prefix}-group2`,
        topics: [input2],
        transactionScope: scope,
        instanceId,
        logger,
        maxWaitMs: 10,
        processor: {
          open: () => {
            opens++;
            if (opens <= FAILING_OPENS) return Promise.reject(new Error(`open ${opens} fails`));
            return Promise.resolve();
          },
          process: ({ messages }) =>
            messages.map((m) => ({
              topic: output2,
              partition: 0,
              key: 'k',
              value: m.value?.toString() ?? '',
            })),
        },
      });
      cleanup.push(() => loop.stop());
      const seen = new Map<string, number>();
      const reader = new TopicReader({
        kafka,
        topics: [output2],
        logger,
        maxWaitMs: 10,
        onRecord: (_t, _p, m) =>
          seen.set(m.value?.toString() ?? '', (seen.get(m.value?.toString() ?? '') ?? 0) + 1),
      });
      cleanup.push(() => reader.stop());
      await reader.start();
      await producer.send({
        topic: input2,
        acks: -1,
        messages: Array.from({ length: 100 }, (_, i) => ({ key: 'k', value: `n${i}` })),
      });
      await loop.start();
      await waitFor(() => seen.size === 100, {
        timeoutMs: 60_000,
        what: '100 outputs after the failed opens',
      });
      assert.ok(opens > FAILING_OPENS, `opened ${opens} times`);
      assert.equal(loop.assignments, 1, 'the failed opens did not crash the consumer (no rejoin)');
      assert.deepEqual(
        [...seen.values()].filter((n) => n !== 1),
        [],
        'each output once',
      );
    });
  });
