import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { createKafka } from '../client/client.js';
import { TopicReader } from '../readers/topic-reader.js';
import type { ConsumedBatch } from './consume-loop.js';
import { ExactlyOnceLoop, type TransactionInfo } from './exactly-once-loop.js';

/**
 * `replica` transaction scope (KIP-447) on a real broker: one transaction carries the offsets of
 * several partitions, and a zombie (a replica whose generation went stale in a rebalance it did
 * not take part in) can commit neither offsets nor output.
 */
describe('ExactlyOnceLoop, replica transaction scope', { timeout: 180_000 }, () => {
  const logger = createLogger('replica-scope-test', { level: 'error' });
  const prefix = uniquePrefix('replicascope');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    kafka = createKafka({ brokers: [await kafkaBrokers()], clientId: prefix, logger });
    admin = kafka.admin();
    await admin.connect();
    cleanup.push(() => admin.disconnect());
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanup.push(() => producer.disconnect());
  });
  after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
  });

  async function topics(input: string, partitions: number, output: string): Promise<void> {
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: partitions, replicationFactor: 1 },
        { topic: output, numPartitions: 1, replicationFactor: 1 },
      ],
      waitForLeaders: true,
    });
  }

  /** Committed offsets of the group, by partition. */
  async function committed(groupId: string, topic: string): Promise<Map<number, string>> {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(t!.partitions.map((p) => [p.partition, p.offset]));
  }

  /** Counts the values read_committed readers see on `topic`. */
  async function reader(topic: string): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    const r = new TopicReader({
      kafka,
      topics: [topic],
      logger,
      maxWaitMs: 10,
      onRecord: (_t, _p, m) => {
        const v = m.value?.toString() ?? '';
        seen.set(v, (seen.get(v) ?? 0) + 1);
      },
    });
    cleanup.push(() => r.stop());
    await r.start();
    return seen;
  }

  const echo =
    (output: string) =>
    ({ messages }: ConsumedBatch) =>
      messages.map((m) => ({ topic: output, key: 'k', value: m.value?.toString() ?? '' }));

  it('one transaction carries the offsets and output of several partitions', async () => {
    const input = `${prefix}-multi-in`;
    const output = `${prefix}-multi-out`;
    const groupId = `${prefix}-multi-group`;
    await topics(input, 4, output);
    const infos: TransactionInfo[] = [];
    const loop = new ExactlyOnceLoop({
      kafka,
      groupId,
      topics: [input],
      logger,
      transactionScope: 'replica',
      instanceId: 'multi',
      maxWaitMs: 10,
      // Lets batches of every partition gather for the next transaction.
      commitIntervalMs: 200,
      processor: { process: echo(output) },
      onTransaction: (i) => void infos.push(i),
    });
    cleanup.push(() => loop.stop());
    const seen = await reader(output);
    await loop.start();
    await loop.joined;
    for (let round = 0; round < 5; round++)
      await producer.send({
        topic: input,
        acks: -1,
        messages: Array.from({ length: 40 }, (_, i) => ({
          value: `r${round}-${i}`,
          partition: i % 4,
        })),
      });
    await waitFor(
      async () => [...(await committed(groupId, input)).values()].every((o) => o === '50'),
      { timeoutMs: 60_000, what: 'offset 50 committed on all 4 partitions' },
    );
    await waitFor(() => seen.size === 200, { timeoutMs: 30_000, what: '200 outputs' });
    assert.deepEqual(
      [...seen].filter(([, n]) => n !== 1),
      [],
      'each output once',
    );
    assert.deepEqual(
      infos.filter((i) => !i.ok).map((i) => String(i.error)),
      [],
    );
    // One report per transaction, carrying each of its partitions once; every input is in
    // exactly one committed transaction, and at least one transaction carried several partitions.
    for (const i of infos) {
      assert.equal(
        new Set(i.parts.map((p) => p.partition)).size,
        i.parts.length,
        `distinct partitions in one transaction: ${JSON.stringify(i.parts)}`,
      );
      assert.equal(
        i.inputs,
        i.parts.reduce((n, p) => n + p.inputs, 0),
      );
      assert.equal(
        i.outputs,
        i.parts.reduce((n, p) => n + p.outputs, 0),
      );
    }
    // The last report follows its commit: wait for it, then check none counted an input twice.
    const inputs = (): number => infos.reduce((n, i) => n + i.inputs, 0);
    await waitFor(() => inputs() >= 200, { timeoutMs: 30_000, what: '200 inputs reported' });
    assert.equal(inputs(), 200, 'each input committed by exactly one transaction');
    assert.ok(
      infos.some((i) => i.parts.length > 1),
      `a transaction with several partitions: ${JSON.stringify(infos.map((i) => i.parts.length))}`,
    );
  });

  /**
   * stop() commits what was processed while the consumer is still a member of its generation:
   * a TxnOffsetCommit v3 sent after it left the group is rejected (UNKNOWN_MEMBER_ID), and the
   * output would be processed again by the next owner. The commit interval keeps output
   * pending until stop().
   */
  it('stop() commits the pending output while the consumer is still a group member', async () => {
    const input = `${prefix}-stop-in`;
    const output = `${prefix}-stop-out`;
    const groupId = `${prefix}-stop-group`;
    await topics(input, 2, output);
    const infos: TransactionInfo[] = [];
    let processed = 0;
    const loop = new ExactlyOnceLoop({
      kafka,
      groupId,
      topics: [input],
      logger,
      transactionScope: 'replica',
      instanceId: 'stop',
      maxWaitMs: 10,
      // After the first transaction, output waits (past stop()) for the next one.
      commitIntervalMs: 5_000,
      processor: {
        process: (batch) => {
          processed += batch.messages.length;
          return echo(output)(batch);
        },
      },
      onTransaction: (i) => void infos.push(i),
    });
    cleanup.push(() => loop.stop());
    const seen = await reader(output);
    await loop.start();
    await loop.joined;
    const send = (round: number): Promise<unknown> =>
      producer.send({
        topic: input,
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({
          value: `r${round}-${i}`,
          partition: i % 2,
        })),
      });
    await send(0);
    await waitFor(() => infos.length > 0, { timeoutMs: 30_000, what: 'the first transaction' });
    await send(1);
    await waitFor(() => processed === 20, { timeoutMs: 30_000, what: '20 inputs processed' });
    const before = infos.length;
    const reportedBefore = infos.reduce((n, i) => n + i.inputs, 0);
    // The second round's output is pending, not committed, when stop() begins.
    assert.ok(reportedBefore < 20, `${reportedBefore} inputs committed before stop()`);
    assert.ok(
      [...(await committed(groupId, input)).values()].some((o) => o !== '10'),
      'offsets still behind the end before stop()',
    );
    await loop.stop();
    assert.ok(infos.length > before, 'stop() committed the pending output');
    assert.deepEqual(
      infos.filter((i) => !i.ok).map((i) => String(i.error)),
      [],
    );
    assert.equal(
      infos.reduce((n, i) => n + i.inputs, 0),
      20,
      'each input committed by exactly one transaction',
    );
    assert.deepEqual(
      [...(await committed(groupId, input))].sort(([a], [b]) => a - b),
      [
        [0, '10'],
        [1, '10'],
      ],
    );
    await waitFor(() => seen.size === 20, { timeoutMs: 30_000, what: '20 outputs' });
    assert.deepEqual(
      [...seen].filter(([, n]) => n !== 1),
      [],
      'each output once',
    );
  });

  it('a zombie replica (stale generation) commits neither offsets nor output', async () => {
    const input = `${prefix}-zombie-in`;
    const output = `${prefix}-zombie-out`;
    const groupId = `${prefix}-zombie-group`;
    await topics(input, 1, output);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    cleanup.push(() => Promise.resolve(release()));
    let blocked = false;
    const zombieInfos: TransactionInfo[] = [];
    const replica = (instanceId: string, hold: boolean): ExactlyOnceLoop =>
      new ExactlyOnceLoop({
        kafka,
        groupId,
        topics: [input],
        logger,
        transactionScope: 'replica',
        instanceId,
        maxWaitMs: 10,
        sessionTimeoutMs: 6_000,
        processor: {
          // The first replica holds the batch with 'block' past its session timeout: it sends
          // no heartbeat meanwhile (kafkajs heartbeats between batches), so the group moves on
          // without it, and it processes and commits the batch afterwards, as a zombie.
          prepare: async ({ messages }) => {
            if (hold && messages.some((m) => m.value?.toString() === 'block')) {
              blocked = true;
              await gate;
            }
          },
          process: echo(output),
        },
        ...(hold ? { onTransaction: (i: TransactionInfo) => void zombieInfos.push(i) } : {}),
      });
    const seen = await reader(output);
    const zombie = replica('zombie', true);
    cleanup.push(() => zombie.stop());
    await zombie.start();
    await zombie.joined;
    const send = (values: string[]): Promise<unknown> =>
      producer.send({ topic: input, acks: -1, messages: values.map((value) => ({ value })) });
    await send(Array.from({ length: 10 }, (_, i) => `m${i}`));
    await waitFor(async () => (await committed(groupId, input)).get(0) === '10', {
      timeoutMs: 30_000,
      what: 'the first 10 inputs committed by the first replica',
    });
    await send(['block']);
    await waitFor(() => blocked, {
      timeoutMs: 30_000,
      what: 'the first replica to hold its batch',
    });

    // A second replica joins; the held one misses the rebalance and is dropped from the group.
    const successor = replica('successor', false);
    cleanup.push(() => successor.stop());
    await successor.start();
    await waitFor(async () => (await committed(groupId, input)).get(0) === '11', {
      timeoutMs: 60_000,
      what: "the successor to commit the held record's offset",
    });

    // The zombie goes on with its batch, in the generation it knows: its transaction must fail.
    release();
    await waitFor(() => zombieInfos.some((i) => !i.ok), {
      timeoutMs: 30_000,
      what: "the zombie's transaction to fail",
    });
    const failure = zombieInfos.find((i) => !i.ok)!.error as { type?: string };
    assert.ok(
      ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'].includes(
        failure.type ?? '',
      ),
      `rejected by the group coordinator: ${String(failure.type)} ${String(failure)}`,
    );
    // Whoever owns the partition now processes what follows; every output is there once, and
    // the zombie's aborted 'block' is never visible.
    await send(['end']);
    await waitFor(() => seen.has('end'), { timeoutMs: 60_000, what: "'end' output" });
    await waitFor(async () => (await committed(groupId, input)).get(0) === '12', {
      timeoutMs: 60_000,
      what: 'all 12 inputs committed',
    });
    const expected = [...Array.from({ length: 10 }, (_, i) => `m${i}`), 'block', 'end'];
    assert.deepEqual(
      expected.map((v) => [v, seen.get(v)]),
      expected.map((v) => [v, 1]),
    );
    assert.equal(seen.size, expected.length);
  });
});
