import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Trigger } from '@ganglion/api';
import { type DeadLetterRecord, type OutcomeRecord } from '@ganglion/core';
import {
  busTopicConfigs,
  busTopics,
  createKafka,
  ensureTopics,
  resourcesTopicConfig,
  type Kafka,
  type KafkaMessage,
} from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import {
  freePort,
  kafkaBrokers,
  ServiceProcess,
  uniquePrefix,
  waitFor,
  withBody,
} from '@ganglion/testing';
import { SensorActions } from './sensor-actions.test-support.js';

type ActionOutcome = Extract<OutcomeRecord, { kind: 'action' }>;

/**
 * Durable retries (issue 17, part 2), with the trigger service as its own process on a real
 * broker and a real HTTP target that counts every request by idempotency key: an action in a
 * retry's backoff is progress for the liveness check; a SIGKILL mid-backoff resumes with the
 * attempt count from the attempt log; a target down for a long outage loses and duplicates
 * nothing.
 */
describe('trigger service: retries that survive restarts', { timeout: 600_000 }, () => {
  const logger = createLogger('trigger-retries-test', { level: 'error' });
  const prefix = uniquePrefix('trigretry');
  const topics = busTopics(`${prefix}-bus`);
  const resourcesTopic = `${prefix}-resources`;
  const STALL_SECONDS = 3;
  let kafka: Kafka;
  let brokers: string;
  let service: ServiceProcess;
  let healthPort = 0;
  const outcomes: ActionOutcome[] = [];
  const dead: DeadLetterRecord[] = [];
  const attemptEntries: { key: string; value: { phase: string; attempts: number } }[] = [];
  /** Requests at the target by idempotency key and path; `answered` counts the 2xx answers. */
  const requests = new Map<string, number>();
  const answered = new Map<string, number>();
  let targetPort = 0;
  let target: Server | undefined;
  const stops: (() => Promise<void>)[] = [];

  const startTarget = async (): Promise<void> => {
    const server = createServer(
      withBody((req, res) => {
        const key = String(req.headers['idempotency-key']);
        requests.set(key, (requests.get(key) ?? 0) + 1);
        if (req.url?.startsWith('/fail')) return void res.writeHead(500).end();
        answered.set(key, (answered.get(key) ?? 0) + 1);
        res.writeHead(200).end();
      }),
    );
    await new Promise<void>((r) => server.listen(targetPort, '127.0.0.1', r));
    target = server;
  };
  const stopTarget = async (): Promise<void> => {
    const server = target;
    target = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };

  const startService = async (): Promise<ServiceProcess> => {
    const proc = new ServiceProcess('trigger', {
      healthPort,
      env: {
        KAFKA_BROKERS: brokers,
        GANGLION_RESOURCES_TOPIC: resourcesTopic,
        GANGLION_INSTANCE_ID: `${prefix}-0`,
        GANGLION_HOST: '127.0.0.1',
        GANGLION_LIVENESS_STALL_SECONDS: String(STALL_SECONDS),
        LOG_LEVEL: 'warn',
      },
    }).start();
    await proc.ready(90_000);
    return proc;
  };

  /** The action ids this test sent (the attempt log is read for these only). */
  const sent = new Set<string>();
  let sensor: SensorActions;
  /** Sends `n` actions of `trigger` (Sensor default/retries) as the sensor service writes them. */
  const sendMany = async (trigger: Trigger, n: number): Promise<string[]> => {
    const ids = (await sensor.send(trigger, n)).map((a) => a.actionId);
    for (const id of ids) sent.add(id);
    return ids;
  };
  const http = (name: string, path: string, extra: Partial<Trigger> = {}): Trigger =>
    ({
      template: { name, http: { url: `http://127.0.0.1:${targetPort}${path}`, timeout: 5 } },
      ...extra,
    }) as Trigger;
  const outcomesOf = (id: string): ActionOutcome[] => outcomes.filter((o) => o.actionId === id);
  const alive = async (): Promise<{ status: number; text: string }> => {
    const res = await fetch(service.healthUrl('/healthz'));
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    brokers = await kafkaBrokers();
    kafka = createKafka({ brokers: brokers.split(','), clientId: 'trigger-retries-test', logger });
    sensor = new SensorActions(
      kafka,
      { resources: resourcesTopic, actions: topics.actions },
      'retries',
      'e',
      prefix,
    );
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      ...busTopicConfigs(topics, { partitions: 2, replicationFactor: 1 }),
      resourcesTopicConfig(resourcesTopic, 1),
    ]);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const bus = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventBus',
      metadata: { name: 'default', namespace: 'default' },
      spec: { kafka: { url: brokers, topic: topics.events } },
    };
    await producer.send({
      topic: resourcesTopic,
      messages: [{ key: 'EventBus/default/default', value: JSON.stringify(bus) }],
    });
    await producer.disconnect();
    const readers: [string, (m: KafkaMessage) => void][] = [
      [topics.outcomes, (m) => outcomes.push(JSON.parse(m.value!.toString()) as ActionOutcome)],
      [topics.dlq, (m) => dead.push(JSON.parse(m.value!.toString()) as DeadLetterRecord)],
      [
        topics.attempts,
        (m) => {
          const key = m.key?.toString() ?? '';
          if (m.value?.length && sent.has(key))
            attemptEntries.push({ key, value: JSON.parse(m.value.toString()) as never });
        },
      ],
    ];
    for (const [topic, onMessage] of readers) {
      const c = kafka.consumer({ groupId: `${topic}-reader`, readUncommitted: false });
      await c.connect();
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => onMessage(message) });
      stops.push(() => c.disconnect());
    }
    targetPort = await freePort();
    await startTarget();
    healthPort = await freePort();
    service = await startService();
  });

  after(async () => {
    await service?.stop();
    for (const s of stops) await s();
    await stopTarget();
  });

  it(`a retryStrategy longer than the ${STALL_SECONDS} s stall window keeps the liveness check passing`, async () => {
    // Three failed attempts 4 s apart: each backoff is longer than the stall window; an
    // atLeastOnce trigger, so a second action waits in the lane behind the first.
    const trigger = http('slow-retries', '/fail-slow', {
      retryStrategy: { steps: 3, duration: '4s', factor: 1 },
      atLeastOnce: true,
    });
    const [first, second] = await sendMany(trigger, 2);
    let checks = 0;
    const failures: string[] = [];
    await waitFor(
      async () => {
        const live = await alive();
        checks++;
        if (live.status !== 200) failures.push(live.text);
        return outcomesOf(second!).length > 0;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'both actions to end' },
    );
    assert.deepEqual(failures, [], 'liveness held during the backoffs');
    assert.ok(checks > 20, `liveness was checked throughout (${checks} checks)`);
    for (const id of [first!, second!]) {
      assert.equal(outcomesOf(id)[0]!.status, 'failed');
      assert.equal(outcomesOf(id)[0]!.attempts, 3);
      assert.equal(requests.get(id), 3);
    }
    assert.equal((await alive()).status, 200);
  });

  it('a SIGKILL mid-backoff resumes with the attempt count: the policy’s attempts at the target, then the DLQ', async () => {
    const trigger = http('killed-retries', '/fail-kill', {
      retryStrategy: { steps: 5, duration: '2s', factor: 1 },
      atLeastOnce: true,
    });
    const [id] = await sendMany(trigger, 1);
    // Killed once the second failure is in the attempt log (the action sleeps 2 s until the third).
    await waitFor(() => attemptEntries.some((e) => e.key === id && e.value.attempts === 2), {
      timeoutMs: 60_000,
      what: 'the second attempt in the attempt log',
    });
    assert.equal(requests.get(id!), 2);
    await service.stop('SIGKILL');
    service = await startService();
    const outcome = await waitFor(() => outcomesOf(id!)[0], {
      timeoutMs: 120_000,
      what: 'the outcome after the restart',
    });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.attempts, 5);
    assert.equal(requests.get(id!), 5, 'the policy’s 5 attempts reached the target, no more');
    const letter = await waitFor(() => dead.find((d) => d.action.actionId === id), {
      timeoutMs: 30_000,
      what: 'the DLQ record',
    });
    assert.equal(letter.errors.length, 5);
    // The action's offset is committed and nothing runs again: one outcome, one dead letter.
    await waitFor(() => attemptEntries.some((e) => e.key === id && e.value.phase === 'done'), {
      what: 'the done entry',
    });
    assert.equal(outcomesOf(id!).length, 1);
    assert.equal(dead.filter((d) => d.action.actionId === id).length, 1);
  });

  it('a target down for a long outage, with a trigger SIGKILL in it: every action succeeds exactly once', async () => {
    const OUTAGE_MS = 45_000;
    const N = 60;
    // The policy outlasts the outage: 1 s growing by 1.5 per attempt, 11 attempts (~170 s).
    const trigger = http('outage', '/outage', {
      retryStrategy: { steps: 11, duration: '1s', factor: 1.5 },
    });
    await stopTarget();
    const down = Date.now();
    const ids = await sendMany(trigger, N);
    // The trigger's concurrency (32) holds its slots through the backoffs; the rest wait queued.
    const inBackoff = (): number =>
      new Set(attemptEntries.filter((e) => ids.includes(e.key)).map((e) => e.key)).size;
    await waitFor(() => inBackoff() >= N / 3, {
      timeoutMs: 60_000,
      what: 'actions in backoff',
    });
    await service.stop('SIGKILL');
    service = await startService();
    const failures: string[] = [];
    await waitFor(
      async () => {
        const live = await alive();
        if (live.status !== 200) failures.push(live.text);
        return Date.now() - down >= OUTAGE_MS;
      },
      { timeoutMs: OUTAGE_MS + 30_000, intervalMs: 500, what: 'the outage to pass' },
    );
    assert.deepEqual(failures, [], 'liveness held through the outage');
    await startTarget();
    await waitFor(() => ids.every((id) => outcomesOf(id).length > 0), {
      timeoutMs: 240_000,
      what: 'every action to end after the outage',
    });
    const failed = ids.filter((id) => outcomesOf(id)[0]!.status !== 'succeeded');
    const duplicates = ids.filter((id) => (answered.get(id) ?? 0) !== 1);
    const attempts = ids.map((id) => outcomesOf(id)[0]!.attempts);
    console.log(
      `# target down ${OUTAGE_MS / 1000} s with ${N} actions and a trigger SIGKILL: ` +
        `${N - failed.length} succeeded, ${failed.length} not, ` +
        `${duplicates.length} with other than one 2xx at the target; attempts ` +
        `${Math.min(...attempts)}..${Math.max(...attempts)}`,
    );
    assert.deepEqual(failed, []);
    assert.deepEqual(duplicates, [], 'every action took effect at the target exactly once');
    assert.ok(
      attempts.filter((a) => a > 1).length >= N / 3,
      'the actions were retried through the outage',
    );
    assert.ok(ids.every((id) => outcomesOf(id).length === 1));
  });
});
