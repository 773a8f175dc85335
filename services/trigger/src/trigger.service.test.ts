import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Trigger } from '@ganglion/api';
import { type ActionRecord, type DeadLetterRecord, type OutcomeRecord } from '@ganglion/core';
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
  kubeApiServer,
  ServiceProcess,
  uniquePrefix,
  waitFor,
  withBody,
  type KubeApiServer,
} from '@ganglion/testing';
import { SensorActions } from './sensor-actions.test-support.js';

interface Hit {
  url: string;
  key: string;
  body: string;
  res: ServerResponse;
  headers: IncomingHttpHeaders;
}

/**
 * The trigger service as its own process on a real broker: actions in, target calls, outcome
 * and DLQ records out, offsets committed after the outcome; a crash mid-action re-runs the
 * action with the same idempotency key; a stuck target does not hold up another trigger.
 */
describe('trigger service on a real Kafka broker', { timeout: 300_000 }, () => {
  const logger = createLogger('trigger-service-test', { level: 'error' });
  const prefix = uniquePrefix('trigsvc');
  const topics = busTopics(`${prefix}-bus`);
  const resourcesTopic = `${prefix}-resources`;
  let kafka: Kafka;
  let brokers: string;
  let service: ServiceProcess;
  let healthPort = 0;
  let kube: KubeApiServer;
  const outcomes: OutcomeRecord[] = [];
  const dead: DeadLetterRecord[] = [];
  const hits: Hit[] = [];
  let sinkUrl = '';
  const sink = createServer(
    withBody((req, res, body) => {
      hits.push({
        url: req.url ?? '',
        key: String(req.headers['idempotency-key']),
        body: body.toString(),
        res,
        headers: req.headers,
      });
      if (req.url?.startsWith('/hold')) return; // answered by the test
      res.writeHead(req.url?.startsWith('/fail') ? 500 : 200).end();
    }),
  );
  const stops: (() => Promise<void>)[] = [];

  const startService = async (): Promise<ServiceProcess> => {
    const proc = new ServiceProcess('trigger', {
      healthPort,
      env: {
        KAFKA_BROKERS: brokers,
        GANGLION_RESOURCES_TOPIC: resourcesTopic,
        GANGLION_INSTANCE_ID: `${prefix}-0`,
        GANGLION_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        GANGLION_KUBECONFIG: kube.kubeconfigPath,
      },
    }).start();
    await proc.ready(90_000);
    return proc;
  };

  let sensor: SensorActions;
  const send = async (trigger: Trigger, data: unknown = {}): Promise<ActionRecord> =>
    (await sensor.send(trigger, 1, data))[0]!;
  const sendMany = (trigger: Trigger, n: number): Promise<ActionRecord[]> =>
    sensor.send(trigger, n);
  const http = (name: string, path: string, extra: Partial<Trigger> = {}): Trigger =>
    ({ template: { name, http: { url: `${sinkUrl}${path}` } }, ...extra }) as Trigger;
  const outcomeOf = (id: string) =>
    outcomes.find((o) => o.kind === 'action' && o.actionId === id) as
      Extract<OutcomeRecord, { kind: 'action' }> | undefined;

  before(async () => {
    kube = await kubeApiServer();
    brokers = await kafkaBrokers();
    kafka = createKafka({ brokers: brokers.split(','), clientId: 'trigger-service-test', logger });
    sensor = new SensorActions(
      kafka,
      { resources: resourcesTopic, actions: topics.actions },
      'svc',
      'example',
      prefix,
    );
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      ...busTopicConfigs(topics, { partitions: 3, replicationFactor: 1 }),
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
    for (const [topic, sink2] of [
      [
        topics.outcomes,
        (m: KafkaMessage) => outcomes.push(JSON.parse(m.value!.toString()) as OutcomeRecord),
      ],
      [
        topics.dlq,
        (m: KafkaMessage) => dead.push(JSON.parse(m.value!.toString()) as DeadLetterRecord),
      ],
    ] as const) {
      const c = kafka.consumer({ groupId: `${topic}-reader` });
      await c.connect();
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void sink2(message) });
      stops.push(() => c.disconnect());
    }
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    healthPort = await freePort();
    service = await startService();
  });

  after(async () => {
    await service?.stop();
    for (const s of stops) await s();
    sink.closeAllConnections();
    await new Promise<void>((r) => sink.close(() => r()));
  });

  it('executes actions, records succeeded and dead-lettered outcomes, runs the dlqTrigger and writes the DLQ record', async () => {
    const ok = await send(http('ok', '/ok'));
    const bad = await send(
      http('bad', '/fail', {
        retryStrategy: { steps: 2, duration: '50ms' },
        atLeastOnce: true,
        dlqTrigger: { ...http('bad-dlq', '/dlq'), atLeastOnce: true } as Trigger,
      }),
    );
    // Nothing listens on port 1: the attempt fails, and without a dlqTrigger the outcome is failed.
    const failed = await send({
      template: { name: 'pulsar', pulsar: { url: 'pulsar://127.0.0.1:1', topic: 't' } },
    } as Trigger);
    await waitFor(
      () => outcomeOf(ok.actionId) && outcomeOf(bad.actionId) && outcomeOf(failed.actionId),
      { timeoutMs: 60_000, what: 'the three outcomes' },
    );
    assert.equal(outcomeOf(ok.actionId)!.status, 'succeeded');
    assert.equal(outcomeOf(bad.actionId)!.status, 'dead-lettered');
    assert.equal(outcomeOf(bad.actionId)!.attempts, 2);
    assert.equal(outcomeOf(failed.actionId)!.status, 'failed');
    assert.match(outcomeOf(failed.actionId)!.detail, /publish to Pulsar topic t: .*ECONNREFUSED/);
    assert.equal(hits.filter((h) => h.key === bad.actionId && h.url === '/fail').length, 2);
    assert.ok(
      hits.some((h) => h.url === '/dlq'),
      'the dlqTrigger ran',
    );
    const d = await waitFor(() => dead.find((x) => x.action.actionId === bad.actionId), {
      timeoutMs: 30_000,
      what: 'the DLQ record',
    });
    assert.equal(d.errors.length, 2);
    assert.equal(d.dlqTrigger?.ok, true);
    // Offsets are committed once outcomes are recorded: the group reaches the topic's end.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const ends = await admin.fetchTopicOffsets(topics.actions);
          const [committed] = await admin.fetchOffsets({
            groupId: 'ganglion-trigger',
            topics: [topics.actions],
          });
          return ends.every((e) => {
            const c = committed!.partitions.find((p) => p.partition === e.partition);
            return (
              BigInt(e.high) === 0n || (c !== undefined && BigInt(c.offset) === BigInt(e.high))
            );
          });
        },
        { timeoutMs: 30_000, what: 'committed offsets to reach the end of the actions topic' },
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('a stuck target holds up only its own trigger: 300 actions of another trigger complete meanwhile', async () => {
    const stuck = await send(
      http('stuck', '/hold-stuck', {
        template: { name: 'stuck', http: { url: `${sinkUrl}/hold-stuck`, timeout: 120 } },
      } as Partial<Trigger>),
    );
    await waitFor(() => hits.find((h) => h.key === stuck.actionId), {
      timeoutMs: 30_000,
      what: 'the stuck call',
    });
    const t0 = Date.now();
    const ids = (await sendMany(http('fast', '/fast'), 300)).map((a) => a.actionId);
    await waitFor(() => ids.every((id) => outcomeOf(id)?.status === 'succeeded'), {
      timeoutMs: 60_000,
      what: '300 outcomes of the fast trigger',
    });
    const ms = Date.now() - t0;
    console.log(
      `# 300 actions of one trigger through Kafka while another trigger's target hung: ${ms} ms`,
    );
    assert.equal(outcomeOf(stuck.actionId), undefined, 'the stuck action is still running');
    hits
      .find((h) => h.key === stuck.actionId)!
      .res.writeHead(200)
      .end();
    await waitFor(() => outcomeOf(stuck.actionId)?.status === 'succeeded', {
      timeoutMs: 30_000,
      what: 'the stuck action to finish',
    });
  });

  it('a crash mid-action runs the action again with the same idempotency key, and records it once done', async () => {
    const a = await send(http('crash', '/hold-crash'));
    await waitFor(() => hits.find((h) => h.key === a.actionId), {
      timeoutMs: 30_000,
      what: 'the first call',
    });
    await service.stop('SIGKILL');
    hits.find((h) => h.key === a.actionId)!.res.destroy();
    service = await startService();
    const second = await waitFor(() => hits.filter((h) => h.key === a.actionId)[1], {
      timeoutMs: 90_000,
      what: 'the action to run again after the restart',
    });
    assert.equal(second.url, '/hold-crash');
    assert.equal(
      outcomeOf(a.actionId),
      undefined,
      'no outcome was recorded for the interrupted attempt',
    );
    second.res.writeHead(200).end();
    await waitFor(() => outcomeOf(a.actionId)?.status === 'succeeded', {
      timeoutMs: 30_000,
      what: 'the outcome after the restart',
    });
    assert.equal(
      outcomes.filter((o) => o.kind === 'action' && o.actionId === a.actionId).length,
      1,
    );
  });

  it('k8s trigger: a crash while the action waits on policy.k8s re-runs it, and the object is created once', async () => {
    const ns = await kube.namespace('trigsvc-k8s');
    const trigger = {
      template: {
        name: 'k8s-crash',
        k8s: {
          source: {
            resource: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { generateName: 'crash-', namespace: ns },
              data: { a: '1' },
            },
          },
        },
      },
      policy: {
        k8s: {
          labels: { ready: 'yes' },
          backoff: { duration: '200ms', factor: 1, steps: 600 },
          errorOnBackoffTimeout: true,
        },
      },
    } as Trigger;
    const a = await send(trigger);
    const createdOk = () =>
      kube
        .writes()
        .filter(
          (w) =>
            w.verb === 'create' &&
            w.objectRef?.namespace === ns &&
            w.objectRef?.resource === 'configmaps' &&
            w.responseStatus?.code === 201,
        );
    await waitFor(() => createdOk().length === 1, {
      timeoutMs: 60_000,
      what: 'the ConfigMap to be created',
    });
    await service.stop('SIGKILL');
    service = await startService();
    // The re-run tries to create the same deterministic name: AlreadyExists on its own object.
    await waitFor(
      () =>
        kube
          .writes()
          .some(
            (w) =>
              w.verb === 'create' &&
              w.objectRef?.namespace === ns &&
              w.responseStatus?.code === 409,
          ),
      { timeoutMs: 90_000, what: 'the re-run after the restart' },
    );
    const name = createdOk()[0]!.objectRef!.name!;
    assert.equal(kube.kubectl(['-n', ns, 'label', 'configmap', name, 'ready=yes']).status, 0);
    await waitFor(() => outcomeOf(a.actionId)?.status === 'succeeded', {
      timeoutMs: 30_000,
      what: 'the outcome after the label appeared',
    });
    assert.equal(createdOk().length, 1);
    const list = JSON.parse(kube.kubectl(['-n', ns, 'get', 'configmaps', '-o', 'json']).stdout) as {
      items: { metadata: { name: string; labels?: Record<string, string> } }[];
    };
    const made = list.items.filter((c) => c.metadata.name.startsWith('crash-'));
    assert.equal(made.length, 1);
    assert.equal(made[0]!.metadata.labels?.['events.argoproj.io/trigger'], 'k8s-crash');
  });
});
