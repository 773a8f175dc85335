import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { keyOf, type AnyResource, type EventBus, type Sensor, type Trigger } from '@ganglion/api';
import {
  actionId,
  triggerKey,
  type ActionRecord,
  type DeadLetterRecord,
  type EventsByDependency,
  type OutcomeRecord,
} from '@ganglion/core';
import {
  BusClients,
  busTopicConfigs,
  busTopics,
  createKafka,
  ensureTopics,
  TopicReader,
  type Admin,
  type Kafka,
} from '@ganglion/eventbus';
import { LocalSecretResolver } from '@ganglion/k8s';
import { createLogger, traceparentOf } from '@ganglion/telemetry';
import {
  changelogMirrorMembers,
  kafkaBrokers,
  uniquePrefix,
  waitFor,
  withBody,
} from '@ganglion/testing';
import { TriggerRunner, type TriggerSettings } from './trigger.runner.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

const SETTINGS: TriggerSettings = {
  concurrencyPerTrigger: 4,
  maxBuffered: 100,
  maxBufferedPerTrigger: 10,
  slackApiUrl: undefined,
  lambdaEndpoint: undefined,
  kubeconfig: undefined,
  argoServerUrl: undefined,
  argoServerToken: undefined,
  argoServerInsecure: false,
};

/** The resources a runner reads, as the resources topic would hold them (list, get, change). */
class Resources {
  private readonly items: AnyResource[] = [];
  private readonly listeners = new Set<(c: { type: 'upsert' | 'delete'; key: string }) => void>();
  put(r: AnyResource): void {
    this.items.push(r);
    for (const l of this.listeners) l({ type: 'upsert', key: keyOf(r) });
  }
  list<T extends AnyResource>(kind: T['kind']): T[] {
    return this.items.filter((r) => r.kind === kind) as T[];
  }
  get<T extends AnyResource>(kind: T['kind'], namespace: string, name: string): T | undefined {
    return this.items.find(
      (r) => r.kind === kind && r.metadata.namespace === namespace && r.metadata.name === name,
    ) as T | undefined;
  }
  onChange(listener: (c: { type: 'upsert' | 'delete'; key: string }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * The trigger stage in-process on a real broker, with two buses: each action's outcome and
 * dead letter go to the topics of the bus it was read from (the envelope's `bus`), a malformed
 * action is skipped, and the run is traced as `process <P-actions>` continuing the action's
 * trace, `trigger <type>` and `send <P-outcomes>`.
 */
describe('TriggerRunner on a real Kafka broker', { timeout: 240_000 }, () => {
  const logger = createLogger('trigger-runner-test', { level: 'error' });
  const exporter = new InMemorySpanExporter();
  const prefix = uniquePrefix('trigrun');
  const buses = [busTopics(`${prefix}-one`), busTopics(`${prefix}-two`)] as const;
  const records: { topic: string; key: string; value: unknown }[] = [];
  const hits: string[] = [];
  const listeners = new Set<(c: { type: 'upsert' | 'delete'; key: string }) => void>();
  const resources: AnyResource[] = [];
  /** Puts a resource into the store (replacing one of the same key) or deletes it, and tells the runner. */
  const store = (r: AnyResource, type: 'upsert' | 'delete' = 'upsert'): void => {
    const i = resources.findIndex((x) => keyOf(x) === keyOf(r));
    if (i >= 0) resources.splice(i, 1);
    if (type === 'upsert') resources.push(r);
    for (const l of listeners) l({ type, key: keyOf(r) });
  };
  const sensor = (name: string, generation: number, triggers: Trigger[]): Sensor =>
    ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name, namespace: 'ns', generation },
      spec: { dependencies: [{ name: 'd', eventSourceName: 'es', eventName: 'e' }], triggers },
    }) as Sensor;
  const sensorTrigger = (name: string): Trigger =>
    (resources.find((r) => keyOf(r) === 'Sensor/ns/s') as Sensor).spec.triggers.find(
      (t) => t.template.name === name,
    )!;
  const event = (id: string): EventsByDependency =>
    ({
      d: { context: { id, source: 'es', subject: 'e', type: 't', specversion: '1.0' }, data: {} },
    }) as unknown as EventsByDependency;
  const target = createServer(
    withBody((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(req.url?.startsWith('/fail') ? 500 : 200).end();
    }),
  );
  let kafka: Kafka;
  let clients: BusClients | undefined;
  let reader: TopicReader;
  let runner: TriggerRunner;
  let url = '';

  /**
   * Produces an action of Sensor `ns/<sensor>` as the sensor service would (key, deterministic
   * id, generation), with `alter` applied to the record and `key` overriding its key.
   */
  const send = async (
    bus: (typeof buses)[number],
    trigger: Trigger | string,
    headers: Record<string, string> = {},
    {
      sensor = 's',
      generation = 1,
      key,
      alter = (a) => a,
    }: {
      sensor?: string;
      generation?: number;
      key?: string;
      alter?: (a: ActionRecord) => ActionRecord;
    } = {},
  ): Promise<string> => {
    const name = typeof trigger === 'string' ? 't' : trigger.template.name;
    const events = event(`${prefix}-${records.length}-${Math.random().toString(16).slice(2, 8)}`);
    const id = actionId(triggerKey('ns', sensor, name), events);
    const action = alter({
      v: 1,
      actionId: id,
      namespace: 'ns',
      sensor,
      trigger: trigger as Trigger,
      generation,
      events,
      createdAt: new Date().toISOString(),
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: bus.actions,
      messages: [
        {
          key: key ?? triggerKey('ns', sensor, name),
          value: typeof trigger === 'string' ? trigger : JSON.stringify(action),
          headers,
        },
      ],
    });
    await producer.disconnect();
    return id;
  };
  const outcome = (topic: string, id: string) =>
    records.find((r) => r.topic === topic && r.key === id)?.value as
      Extract<OutcomeRecord, { kind: 'action' }> | undefined;

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    );
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    const brokers = await kafkaBrokers();
    kafka = createKafka({ brokers: brokers.split(','), clientId: 'trigger-runner-test', logger });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(
      admin,
      buses.flatMap((b) => busTopicConfigs(b, { partitions: 1, replicationFactor: 1 })),
    );
    await admin.disconnect();
    reader = new TopicReader({
      kafka,
      topics: buses.flatMap((b) => [b.outcomes, b.dlq]),
      logger,
      onRecord: (topic, _p, m) =>
        void records.push({
          topic,
          key: m.key!.toString(),
          value: JSON.parse(m.value!.toString()),
        }),
    });
    await reader.start();
    for (const [i, b] of buses.entries())
      resources.push({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'EventBus',
        metadata: { name: `bus${i}`, namespace: 'ns' },
        spec: { kafka: { url: brokers, topic: b.events } },
      } as EventBus);
    resources.push(
      sensor('s', 1, [
        { template: { name: 'ok', http: { url: `${url}/ok` } } },
        { template: { name: 'bad', http: { url: `${url}/fail` } } },
        { template: { name: 'traced', http: { url: `${url}/traced` } } },
        {
          template: {
            name: 'leaky',
            http: { url: `${url.replace('://', '://user:pa55w0rd@')}/fail?token=s3cr3t` },
          },
        },
      ] as Trigger[]),
    );
    clients = new BusClients({
      brokers: brokers.split(','),
      clientId: 'trigger-runner-test',
      logger,
    });
    runner = new TriggerRunner({
      clients,
      store: {
        get: <T extends AnyResource>(kind: T['kind'], namespace: string, name: string) =>
          resources.find(
            (r) =>
              r.kind === kind && r.metadata.namespace === namespace && r.metadata.name === name,
          ) as T | undefined,
        list: <T extends AnyResource>(kind: T['kind']) =>
          resources.filter((r) => r.kind === kind) as T[],
        onChange: (l) => (listeners.add(l), () => listeners.delete(l)),
      },
      logger,
      secrets: new LocalSecretResolver(undefined, {}),
      storeWaitMs: 3_000,
      settings: SETTINGS,
    });
    await runner.start();
    assert.equal(runner.ready, true);
  });

  after(async () => {
    await runner?.stop();
    await clients?.close();
    await reader?.stop();
    target.closeAllConnections();
    await new Promise<void>((r) => target.close(() => r()));
    trace.disable();
  });

  it("records each action's outcome and dead letter on the topics of the bus it came from, and skips a malformed record", async () => {
    await send(buses[0], 'not an action');
    const ok = await send(buses[0], {
      template: { name: 'ok', http: { url: `${url}/ok` } },
    } as Trigger);
    const failed = await send(buses[1], {
      template: { name: 'bad', http: { url: `${url}/fail` } },
    } as Trigger);
    await waitFor(() => outcome(buses[0].outcomes, ok) && outcome(buses[1].outcomes, failed), {
      timeoutMs: 60_000,
      what: 'both outcomes',
    });
    assert.equal(outcome(buses[0].outcomes, ok)!.status, 'succeeded');
    assert.equal(outcome(buses[1].outcomes, failed)!.status, 'failed');
    const dead = await waitFor(
      () => records.find((r) => r.topic === buses[1].dlq)?.value as DeadLetterRecord | undefined,
      { timeoutMs: 30_000, what: 'the dead letter' },
    );
    assert.equal(dead.action.actionId, failed);
    assert.equal(
      records.filter(
        (r) =>
          r.topic === buses[0].dlq ||
          (r.topic === buses[1].outcomes && r.key === ok) ||
          (r.topic === buses[0].outcomes && r.key === failed),
      ).length,
      0,
      'nothing on the other bus',
    );
    assert.deepEqual(hits.sort(), ['/fail', '/ok']);
  });

  it('traces the run: process <P-actions> continues the action trace, trigger <type> inside, send <P-outcomes> under it', async () => {
    exporter.reset();
    const id = await send(
      buses[0],
      { template: { name: 'traced', http: { url: `${url}/traced` } } } as Trigger,
      { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
    );
    await waitFor(() => outcome(buses[0].outcomes, id), { timeoutMs: 30_000, what: 'the outcome' });
    const spans = await waitFor(
      () => {
        const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
        return all.some((s) => s.name === `send ${buses[0].outcomes}`) &&
          all.some((s) => s.name === `process ${buses[0].actions}`)
          ? all
          : undefined;
      },
      { timeoutMs: 10_000, what: 'the spans of the action trace' },
    );
    const proc = spans.find((s) => s.name === `process ${buses[0].actions}`)!;
    assert.equal(proc.kind, SpanKind.CONSUMER);
    assert.equal(proc.parentSpanContext?.spanId, '00f067aa0ba902b7');
    assert.equal(proc.attributes['messaging.consumer.group.name'], 'ganglion-trigger');
    assert.equal(proc.attributes['ganglion.action.id'], id);
    const run = spans.find((s) => s.name === 'trigger http')!;
    assert.equal(run.parentSpanContext?.spanId, proc.spanContext().spanId);
    const out = spans.find((s) => s.name === `send ${buses[0].outcomes}`)!;
    assert.equal(out.kind, SpanKind.PRODUCER);
    assert.ok(
      [proc.spanContext().spanId, run.spanContext().spanId].includes(out.parentSpanContext!.spanId),
      'the outcome is sent within the run',
    );
    assert.ok(traceparentOf(out.spanContext()));
  });

  it("executes the Sensor's current trigger from the store, never the record's copy", async () => {
    const evil = { template: { name: 'ok', http: { url: `${url}/evil` } } } as Trigger;
    // Produced under generation 0: the Sensor changed since, its current trigger runs.
    const older = await send(buses[0], evil, {}, { generation: 0 });
    // Claims the current generation with another template: altered.
    const altered = await send(buses[0], evil, {}, { generation: 1 });
    await waitFor(() => outcome(buses[0].outcomes, older) && outcome(buses[0].outcomes, altered), {
      timeoutMs: 60_000,
      what: 'both outcomes',
    });
    assert.equal(outcome(buses[0].outcomes, older)!.status, 'succeeded');
    assert.equal(outcome(buses[0].outcomes, altered)!.status, 'error');
    assert.match(
      outcome(buses[0].outcomes, altered)!.detail,
      /record was altered: its trigger "ok" differs from generation 1 of Sensor ns\/s/,
    );
    assert.ok(!hits.includes('/evil'), 'the template in the record never runs');
  });

  it('ends an action whose Sensor, trigger or generation is gone, or whose record was altered, as an error naming why, on the DLQ', async () => {
    const http = (name: string, path: string) =>
      ({ template: { name, http: { url: `${url}${path}` } } }) as Trigger;
    store(sensor('gone', 1, [http('t', '/gone')]));
    store(sensor('gone', 1, []), 'delete');
    const cases = {
      deleted: [
        await send(buses[0], http('t', '/gone'), {}, { sensor: 'gone' }),
        /Sensor ns\/gone no longer exists/,
      ],
      never: [
        await send(buses[0], http('t', '/never'), {}, { sensor: 'never' }),
        /Sensor ns\/never does not exist/,
      ],
      trigger: [
        await send(buses[0], http('nosuch', '/x')),
        /Sensor ns\/s has no trigger "nosuch" \(generation 1\)/,
      ],
      ahead: [
        await send(buses[0], http('ok', '/ok'), {}, { generation: 7 }),
        /generation 7 of Sensor ns\/s; the resource store has generation 1/,
      ],
      key: [
        await send(buses[0], http('ok', '/ok'), {}, { key: 'ns/other/ok' }),
        /record was altered: its key "ns\/other\/ok"/,
      ],
      id: [
        await send(
          buses[0],
          http('ok', '/ok'),
          {},
          {
            alter: (a) => ({ ...a, events: event('forged') }),
          },
        ),
        /record was altered: its action id does not match/,
      ],
    } as const;
    for (const [what, [id, reason]] of Object.entries(cases)) {
      const o = await waitFor(() => outcome(buses[0].outcomes, id), {
        timeoutMs: 60_000,
        what: `the outcome of the ${what} case`,
      });
      assert.equal(o.status, 'error', what);
      assert.equal(o.attempts, 0, what);
      assert.match(o.detail, reason, what);
      const dead = await waitFor(
        () =>
          records.find(
            (r) => r.topic === buses[0].dlq && (r.value as DeadLetterRecord).action.actionId === id,
          )?.value as DeadLetterRecord | undefined,
        { timeoutMs: 30_000, what: `the dead letter of the ${what} case` },
      );
      assert.equal(dead.status, 'error', what);
      assert.match(dead.errors[0]!, reason, what);
    }
    assert.ok(!hits.some((h) => ['/gone', '/never', '/x'].includes(h)), 'nothing ran');
  });

  it('waits for a generation the store has not seen yet, then runs it', async () => {
    store(sensor('w', 1, [{ template: { name: 't', http: { url: `${url}/w1` } } } as Trigger]));
    const next = { template: { name: 't', http: { url: `${url}/w2` } } } as Trigger;
    const id = await send(buses[0], next, {}, { sensor: 'w', generation: 2 });
    store(sensor('w', 2, [next]));
    const o = await waitFor(() => outcome(buses[0].outcomes, id), {
      timeoutMs: 60_000,
      what: 'the outcome',
    });
    assert.equal(o.status, 'succeeded', o.detail);
    assert.ok(hits.includes('/w2') && !hits.includes('/w1'));
  });

  it('removes userinfo and query strings from URLs in outcomes and dead letters', async () => {
    const trigger = sensorTrigger('leaky');
    const id = await send(buses[0], trigger);
    const o = await waitFor(() => outcome(buses[0].outcomes, id), {
      timeoutMs: 60_000,
      what: 'the outcome',
    });
    const dead = await waitFor(
      () =>
        records.find(
          (r) => r.topic === buses[0].dlq && (r.value as DeadLetterRecord).action.actionId === id,
        )?.value as DeadLetterRecord | undefined,
      { timeoutMs: 30_000, what: 'the dead letter' },
    );
    assert.equal(o.status, 'failed');
    assert.match(o.detail, new RegExp(`POST ${url}/fail\\b`), o.detail);
    for (const text of [o.detail, ...dead.errors])
      for (const secret of ['pa55w0rd', 'token=s3cr3t']) assert.ok(!text.includes(secret), text);
  });
});

/**
 * A cluster whose actions cannot be consumed when the runner starts (its actions topic is deleted
 * after the attempt log read its metadata, before the consumer subscribes; the broker does not
 * create topics) fails the runner's start, leaves nothing running (the attempt log's mirror,
 * which did start, is stopped: its reader leaves its group) and is started again by the next
 * resource change once the topic is back.
 */
describe('TriggerRunner, a cluster that fails to start', { timeout: 180_000 }, () => {
  const logger = createLogger('trigger-runner-test', { level: 'error' });
  const prefix = uniquePrefix('trigrun-failed-start');
  const bus = busTopics(`${prefix}-bus`);
  const configs = busTopicConfigs(bus, { partitions: 1, replicationFactor: 1 });
  const resources = new Resources();
  const outcomes = new Map<string, Extract<OutcomeRecord, { kind: 'action' }>>();
  const stops: (() => Promise<void>)[] = [];
  const trigger = { template: { name: 't', log: {} } } as Trigger;
  const sensor = (name: string): Sensor =>
    ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name, namespace: 'ns', generation: 1 },
      spec: {
        dependencies: [{ name: 'd', eventSourceName: 'es', eventName: 'e' }],
        triggers: [trigger],
      },
    }) as Sensor;
  let kafka: Kafka;
  let admin: Admin;
  /** The runner's clients: their own client id tells its mirror's group members apart. */
  let clients: BusClients;
  /** Members of changelog readers' groups (an attempt log's mirror) with the runner's client id. */
  const mirrorMembers = (): Promise<number> => changelogMirrorMembers(admin, `${prefix}-runner`);
  /** Produces an action of trigger `t` of Sensor `ns/<name>` as the sensor service would. */
  const sendAction = async (name: string): Promise<string> => {
    const events = {
      d: {
        context: {
          id: `${prefix}-${name}`,
          source: 'es',
          subject: 'e',
          type: 't',
          specversion: '1.0',
        },
        data: {},
      },
    } as unknown as EventsByDependency;
    const key = triggerKey('ns', name, 't');
    const action: ActionRecord = {
      v: 1,
      actionId: actionId(key, events),
      namespace: 'ns',
      sensor: name,
      trigger,
      generation: 1,
      events,
      createdAt: new Date().toISOString(),
    };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: bus.actions, messages: [{ key, value: JSON.stringify(action) }] });
    await producer.disconnect();
    return action.actionId;
  };

  before(async () => {
    const brokers = await kafkaBrokers();
    kafka = createKafka({ brokers: brokers.split(','), clientId: 'trigger-runner-test', logger });
    admin = kafka.admin();
    await admin.connect();
    stops.push(() => admin.disconnect());
    await ensureTopics(admin, configs);
    const reader = new TopicReader({
      kafka,
      topics: [bus.outcomes],
      logger,
      onRecord: (_t, _p, m) =>
        void outcomes.set(m.key!.toString(), JSON.parse(m.value!.toString())),
    });
    await reader.start();
    stops.push(() => reader.stop());
    clients = new BusClients({
      brokers: brokers.split(','),
      clientId: `${prefix}-runner`,
      logger,
    });
    stops.push(() => clients.close());
    resources.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'EventBus',
      metadata: { name: 'default', namespace: 'ns' },
      spec: { kafka: { url: brokers, topic: bus.events } },
    } as EventBus);
    resources.put(sensor('first'));
  });

  after(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('stops what started, records nothing, and starts the cluster by itself once it can', async () => {
    // An open transaction on the attempts partition holds the attempt log's mirror (it reads
    // read_committed) short of the barrier it waits for, until the transaction is aborted.
    const hold = kafka.producer({
      transactionalId: `${prefix}-hold`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await hold.connect();
    stops.push(() => hold.disconnect());
    const txn = await hold.transaction();
    await txn.send({ topic: bus.attempts, messages: [{ key: 'hold', value: 'hold' }] });
    const runner = new TriggerRunner({
      clients,
      store: resources,
      logger,
      secrets: new LocalSecretResolver(undefined, {}),
      storeWaitMs: 3_000,
      settings: SETTINGS,
    });
    stops.push(() => runner.stop());
    const started = runner.start();
    started.catch(() => undefined);
    // The mirror runs: the attempt log has read the actions topic's metadata and waits.
    await waitFor(async () => (await mirrorMembers()) === 1, {
      timeoutMs: 30_000,
      what: "the attempt log's mirror to join its group",
    });
    await admin.deleteTopics({ topics: [bus.actions] });
    await waitFor(async () => !(await admin.listTopics()).includes(bus.actions), {
      timeoutMs: 30_000,
      what: 'the actions topic to be deleted',
    });
    await txn.abort();
    await assert.rejects(started, /topic|partition/i);
    assert.equal(runner.ready, false);
    await waitFor(async () => (await mirrorMembers()) === 0, {
      timeoutMs: 30_000,
      what: "the failed cluster's attempt log mirror to leave its group",
    });

    await ensureTopics(
      admin,
      configs.filter((c) => c.topic === bus.actions),
    );
    // No change needed: the runner tries the failed reconcile again by itself, backing off.
    await waitFor(() => runner.ready, {
      timeoutMs: 60_000,
      what: 'the cluster to start on a retry',
    });
    resources.put(sensor('second'));
    await waitFor(async () => (await mirrorMembers()) === 1, {
      timeoutMs: 30_000,
      what: "the cluster's attempt log mirror to join its group",
    });
    const ids = [await sendAction('first'), await sendAction('second')];
    await waitFor(() => ids.every((id) => outcomes.has(id)), {
      timeoutMs: 60_000,
      what: 'the outcomes of both actions',
    });
    for (const id of ids)
      assert.equal(outcomes.get(id)!.status, 'succeeded', outcomes.get(id)!.detail);
  });
});
