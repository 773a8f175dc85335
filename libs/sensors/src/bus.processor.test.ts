import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { context, propagation, trace, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import type { Sensor } from '@ganglion/api';
import {
  compileSensor,
  type ActionRecord,
  type CompiledSensor,
  type JoinRecord,
  type OutcomeRecord,
} from '@ganglion/core';
import {
  busTopics,
  ChangelogMirror,
  CloudEvent,
  createKafka,
  encodeCloudEvent,
  type KafkaMessage,
  type OutRecord,
} from '@ganglion/eventbus';
import { createLogger, traceparentOf } from '@ganglion/telemetry';
import { BusProcessor, type SensorDirectory } from './bus.processor.js';

/**
 * BusProcessor's routing of the event partitions, pure: a batch in, the records of its
 * transaction out (actions, join inputs, outcomes), with the spans of the messaging
 * conventions. Joins through a real broker (restore on open) are in sensor.runner.test.ts.
 */
const logger = createLogger('bus-processor-test', { level: 'error' });
const exporter = new InMemorySpanExporter();
const topics = busTopics('proc-bus');
const T = Date.parse('2026-03-01T10:00:00Z');
const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const sensor = (name: string, deps: object[], triggers: object[]): CompiledSensor =>
  compileSensor(
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name, namespace: 'ns', generation: 3 },
      spec: { dependencies: deps, triggers },
    } as unknown as Sensor,
    'ns',
  );

const sensors = [
  sensor(
    'single',
    [{ name: 'd', eventSourceName: 'hooks', eventName: 'push' }],
    [{ template: { name: 't', log: {} } }],
  ),
  sensor(
    'pair',
    [
      { name: 'a', eventSourceName: 'hooks', eventName: 'push' },
      { name: 'b', eventSourceName: 'cron', eventName: 'tick' },
    ],
    [{ template: { name: 'both', log: {} } }],
  ),
];
const directory: SensorDirectory = {
  sensors: () => sensors,
  sensor: (ns, name) => sensors.find((s) => s.namespace === ns && s.name === name),
};

let offset = 0;
function message(
  source: string,
  subject: string,
  data: unknown,
  extra: Record<string, string> = {},
  at = T,
): KafkaMessage {
  const id = `ev-${++offset}`;
  const rec = encodeCloudEvent(
    new CloudEvent<unknown>({
      id,
      source,
      subject,
      type: 'webhook',
      time: new Date(at).toISOString(),
      datacontenttype: 'application/json',
      data,
      ...extra,
    }),
    `${source}.${subject}`,
  );
  return {
    key: Buffer.from(rec.key),
    value: rec.value as Buffer,
    headers: rec.headers,
    timestamp: String(at),
    offset: String(offset),
    attributes: 0,
  } as KafkaMessage;
}

const json = <T>(r: OutRecord): T => JSON.parse(String(r.value)) as T;
const names = (): string[] => exporter.getFinishedSpans().map((s) => s.name);
const span = (name: string): ReadableSpan => {
  const s = exporter.getFinishedSpans().find((x) => x.name === name);
  assert.ok(s, `span "${name}" in ${names().join(', ')}`);
  return s;
};

describe('BusProcessor: routing of an event partition', () => {
  let processor: BusProcessor;
  let mirror: ChangelogMirror;

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    );
    // Never started: the event path does not read the join-state changelog.
    mirror = new ChangelogMirror(
      createKafka({ brokers: ['127.0.0.1:9'], clientId: 'bus-processor-test', logger }),
      [topics.joinState],
      logger,
    );
    processor = new BusProcessor(topics, directory, mirror, logger, 'ganglion-sensor.proc-bus');
  });
  beforeEach(() => exporter.reset());
  after(() => trace.disable());

  it('fires a single-dependency trigger: its action, then the event outcome, in one batch', () => {
    const m = message('hooks', 'push', { n: 1 });
    const out = processor.process({ topic: topics.events, partition: 0, messages: [m] });
    const actions = out.filter((r) => r.topic === topics.actions);
    assert.equal(actions.length, 1);
    assert.equal(actions[0]!.key, 'ns/single/t');
    const action = json<ActionRecord>(actions[0]!);
    assert.deepEqual(
      [action.namespace, action.sensor, action.trigger.template.name],
      ['ns', 'single', 't'],
    );
    assert.equal(action.events['d']!.context.id, 'ev-1');
    assert.equal(action.generation, 3, "the Sensor's generation the trigger service checks");
    assert.deepEqual(action.events['d']!.data, { n: 1 });
    assert.equal(action.createdAt, new Date(T).toISOString(), 'time is the record timestamp');
    assert.equal(actions[0]!.headers?.['ganglion-action-id'], action.actionId);
    // The pair's trigger waits for `b`: a join input keyed by trigger, with the input's timestamp.
    const joins = out.filter((r) => r.topic === topics.joins);
    assert.equal(joins.length, 1);
    assert.equal(joins[0]!.key, 'ns/pair/both');
    assert.equal(joins[0]!.timestamp, m.timestamp);
    const join = json<JoinRecord>(joins[0]!);
    assert.deepEqual(
      [join.sensor, join.trigger, join.dependency, join.event.context.id],
      ['pair', 'both', 'a', 'ev-1'],
    );
    const last = out[out.length - 1]!;
    assert.equal(last.topic, topics.outcomes);
    assert.equal(last.key, 'ev-1');
    const outcome = json<Extract<OutcomeRecord, { kind: 'event' }>>(last);
    assert.equal(outcome.kind, 'event');
    assert.deepEqual(
      outcome.decisions
        .flatMap((d) => d.triggers.map((t) => `${d.sensor}/${t.trigger}:${t.result}`))
        .sort(),
      ['pair/both:joining', 'single/t:fired'],
    );
  });

  it('an event no dependency wants: only its outcome, with no decision', () => {
    const out = processor.process({
      topic: topics.events,
      partition: 1,
      messages: [message('other', 'thing', {})],
    });
    assert.deepEqual(
      out.map((r) => r.topic),
      [topics.outcomes],
    );
    assert.deepEqual(json<Extract<OutcomeRecord, { kind: 'event' }>>(out[0]!).decisions, []);
  });

  it("matches on the EventSource's namespace too: a same-named source of another namespace fires nothing", () => {
    const foreign = processor.process({
      topic: topics.events,
      partition: 1,
      messages: [message('hooks', 'push', { n: 1 }, { namespace: 'other-team' })],
    });
    assert.deepEqual(
      foreign.map((r) => r.topic),
      [topics.outcomes],
    );
    assert.deepEqual(json<Extract<OutcomeRecord, { kind: 'event' }>>(foreign[0]!).decisions, []);
    const own = processor.process({
      topic: topics.events,
      partition: 1,
      messages: [message('hooks', 'push', { n: 2 }, { namespace: 'ns' })],
    });
    assert.equal(own.filter((r) => r.topic === topics.actions).length, 1);
  });

  it('a record that is not a CloudEvent is rejected with an outcome keyed by its position, and the batch goes on', () => {
    const bad = {
      key: null,
      value: Buffer.from('not an event'),
      headers: {},
      timestamp: String(T),
      offset: '77',
      attributes: 0,
    } as unknown as KafkaMessage;
    const out = processor.process({
      topic: topics.events,
      partition: 2,
      messages: [bad, message('hooks', 'push', {})],
    });
    assert.equal(out[0]!.topic, topics.outcomes);
    assert.equal(out[0]!.key, `${topics.events}/2/77`);
    const rejected = json<Extract<OutcomeRecord, { kind: 'event-rejected' }>>(out[0]!);
    assert.equal(rejected.kind, 'event-rejected');
    assert.match(rejected.reason, /not a CloudEvent/);
    assert.equal(
      out.filter((r) => r.topic === topics.actions).length,
      1,
      'the next record still fires',
    );
  });

  it('decides identically when the batch is processed again (a failed transaction)', () => {
    const batch = {
      topic: topics.events,
      partition: 0,
      messages: [message('hooks', 'push', { x: 1 }), message('cron', 'tick', { y: 2 })],
    };
    const strip = (rs: OutRecord[]) =>
      rs.map((r) => ({ topic: r.topic, key: r.key, value: String(r.value) }));
    assert.deepEqual(strip(processor.process(batch)), strip(processor.process(batch)));
  });

  it('traces: `process <P>` continues the event trace, `evaluate` per sensor, `send <P-actions>` injected into the action headers', () => {
    const out = processor.process({
      topic: topics.events,
      partition: 0,
      messages: [message('hooks', 'push', {}, { traceparent: TRACE })],
    });
    const proc = span(`process ${topics.events}`);
    assert.equal(proc.kind, SpanKind.CONSUMER);
    assert.equal(proc.spanContext().traceId, TRACE.split('-')[1]);
    assert.equal(proc.attributes['messaging.destination.partition.id'], '0');
    assert.equal(proc.attributes['messaging.consumer.group.name'], 'ganglion-sensor.proc-bus');
    assert.equal(
      exporter
        .getFinishedSpans()
        .filter(
          (s) => s.name === 'evaluate' && s.parentSpanContext?.spanId === proc.spanContext().spanId,
        ).length,
      2,
    );
    const send = span(`send ${topics.actions}`);
    assert.equal(send.kind, SpanKind.PRODUCER);
    assert.equal(send.parentSpanContext?.spanId, proc.spanContext().spanId);
    const action = out.find((r) => r.topic === topics.actions)!;
    assert.equal(action.headers?.['traceparent'], traceparentOf(send.spanContext()));
    const joinSend = span(`send ${topics.joins}`);
    assert.equal(
      out.find((r) => r.topic === topics.joins)!.headers?.['traceparent'],
      traceparentOf(joinSend.spanContext()),
    );
  });

  it('refuses a join batch of a partition it has not opened (its state is not restored)', () => {
    assert.throws(
      () => processor.process({ topic: topics.joins, partition: 0, messages: [] }),
      /is not open/,
    );
  });
});

describe('BusProcessor: a poisoned Sensor next to a healthy one (issue 17)', () => {
  const poisoned = sensor(
    'poisoned',
    [
      {
        name: 'doubling',
        eventSourceName: 'hooks',
        eventName: 'push',
        transform: { jq: 'reduce range(26) as $i (.; [., .]) | tojson' },
      },
      {
        name: 'backtracking',
        eventSourceName: 'hooks',
        eventName: 'push',
        transform: { script: 'return {string.find(("a"):rep(800), ".-.-.-b")}' },
      },
    ],
    [{ template: { name: 'never', log: {} } }],
  );
  const healthy = sensors[0]!;
  const both = [poisoned, healthy];
  const dir = (list: () => CompiledSensor[]): SensorDirectory => ({
    sensors: list,
    sensor: (ns, name) => list().find((s) => s.namespace === ns && s.name === name),
  });
  const DEADLINE = 200;
  let mirror: ChangelogMirror;
  before(() => {
    mirror = new ChangelogMirror(
      createKafka({ brokers: ['127.0.0.1:9'], clientId: 'bus-processor-test', logger }),
      [topics.joinState],
      logger,
    );
  });
  const strip = (rs: OutRecord[]) =>
    rs.map((r) => ({ topic: r.topic, key: r.key, value: String(r.value) }));

  it('the healthy Sensor fires, the poisoned one gets `error` decisions naming sensor, dependency and reason, the batch goes on; a replay decides identically without waiting again', () => {
    const processor = new BusProcessor(
      topics,
      dir(() => both),
      mirror,
      logger,
      'ganglion-sensor.proc-bus',
      { limits: { luaLimits: { deadlineMs: DEADLINE } } },
    );
    const batch = {
      topic: topics.events,
      partition: 5,
      messages: [message('hooks', 'push', { n: 1 }), message('hooks', 'push', { n: 2 })],
    };
    const out = processor.process(batch);
    const actions = out.filter((r) => r.topic === topics.actions).map(json<ActionRecord>);
    assert.deepEqual(
      actions.map((a) => `${a.sensor}/${a.trigger.template.name}`),
      ['single/t', 'single/t'],
      'the healthy sensor fires for both records',
    );
    const outcomes = out
      .filter((r) => r.topic === topics.outcomes)
      .map(json<Extract<OutcomeRecord, { kind: 'event' }>>);
    assert.equal(outcomes.length, 2);
    for (const o of outcomes) {
      assert.equal(o.kind, 'event');
      const errors = o.decisions.filter((d) => d.result === 'error');
      assert.deepEqual(
        errors.map((d) => `${d.namespace}/${d.sensor}/${d.dependency}`),
        ['ns/poisoned/doubling', 'ns/poisoned/backtracking'],
      );
      assert.match(errors[0]!.reason!, /jq transform failed: .*value size limit/);
      assert.match(errors[1]!.reason!, new RegExp(`deadline of ${DEADLINE} ms`));
      assert.deepEqual(
        o.decisions.filter((d) => d.sensor === 'single').map((d) => d.result),
        ['matched'],
      );
    }
    // A failed transaction processes the batch again: the same records, and the deadline's
    // verdict is remembered rather than waited for twice more.
    const t0 = performance.now();
    const again = processor.process(batch);
    const replayMs = performance.now() - t0;
    assert.deepEqual(strip(again), strip(out));
    assert.ok(replayMs < DEADLINE, `replay took ${replayMs} ms`);
  });

  it('a record whose processing throws fails its batch at most maxAttempts times, then gets `event-rejected` and the partition moves on', () => {
    let broken = true;
    const boom: CompiledSensor = {
      ...healthy,
      get dependencies() {
        if (broken) throw new Error('boom');
        return healthy.dependencies;
      },
    };
    const processor = new BusProcessor(
      topics,
      dir(() => [boom]),
      mirror,
      logger,
      'ganglion-sensor.proc-bus',
      { maxAttempts: 3 },
    );
    const bad = message('hooks', 'push', {});
    const batch = { topic: topics.events, partition: 6, messages: [bad] };
    assert.throws(() => processor.process(batch), /boom/);
    assert.throws(() => processor.process(batch), /boom/);
    const out = processor.process(batch);
    assert.deepEqual(
      out.map((r) => r.topic),
      [topics.outcomes],
    );
    assert.equal(out[0]!.key, `${topics.events}/6/${bad.offset}`);
    const rejected = json<Extract<OutcomeRecord, { kind: 'event-rejected' }>>(out[0]!);
    assert.equal(rejected.kind, 'event-rejected');
    assert.equal(rejected.offset, bad.offset);
    assert.match(rejected.reason, /processing failed 3 times: boom/);
    // The count starts afresh for another record, and a healthy record is processed.
    assert.throws(() => processor.process({ ...batch, messages: [message('hooks', 'push', {})] }));
    broken = false;
    const next = processor.process({ ...batch, messages: [message('hooks', 'push', {})] });
    assert.equal(next.filter((r) => r.topic === topics.actions).length, 1);
  });
  it('a join record whose processing throws fails its batch at most maxAttempts times, then is `ignored` with its state change undone, and the join partition moves on', async () => {
    const pair = sensors[1]!;
    let broken = false;
    const processor = new BusProcessor(
      topics,
      {
        sensors: () => [pair],
        sensor: (ns, name) => {
          if (broken) throw new Error('join boom');
          return ns === pair.namespace && name === pair.name ? pair : undefined;
        },
      },
      mirror,
      logger,
      'ganglion-sensor.proc-bus',
      { maxAttempts: 3 },
    );
    // Opening the join partition writes a barrier and waits for the mirror to read it back:
    // handed straight to the (never started) mirror here.
    const apply = (mirror as unknown as { apply(t: string, p: number, m: object): void }).apply;
    await processor.open({
      topic: topics.joins,
      partition: 0,
      produce: async (records) => {
        for (const r of records)
          apply.call(mirror, r.topic, 0, {
            key: Buffer.from(r.key),
            value: Buffer.from(String(r.value)),
          });
      },
    });
    // The join records two events produce (the first dependency of each), as the event path writes them.
    const joinMessages = [message('hooks', 'push', { n: 1 }), message('hooks', 'push', { n: 2 })]
      .map((m) => processor.process({ topic: topics.events, partition: 0, messages: [m] }))
      .map((out) => out.find((r) => r.topic === topics.joins)!)
      .map(
        (r, i) =>
          ({
            key: Buffer.from(r.key),
            value: Buffer.from(String(r.value)),
            headers: r.headers,
            timestamp: String(T),
            offset: String(1000 + i),
            attributes: 0,
          }) as KafkaMessage,
      );
    const batch = { topic: topics.joins, partition: 0, messages: [joinMessages[0]!] };
    broken = true;
    assert.throws(() => processor.process(batch), /join boom/);
    assert.throws(() => processor.process(batch), /join boom/);
    const out = processor.process(batch);
    const ignored = out
      .filter((r) => r.topic === topics.outcomes)
      .map((r) => json<OutcomeRecord>(r));
    assert.equal(ignored.length, 1);
    assert.equal(ignored[0]!.kind, 'join');
    assert.equal((ignored[0] as Extract<OutcomeRecord, { kind: 'join' }>).result, 'ignored');
    assert.match(
      (ignored[0] as Extract<OutcomeRecord, { kind: 'join' }>).reason ?? '',
      /processing failed 3 times: join boom/,
    );
    assert.deepEqual(
      out.filter((r) => r.topic === topics.joinState),
      [],
      'no join-state change for the skipped record',
    );
    assert.equal(processor.joinStateSize, 0);
    // The next record of the partition is processed: its dependency is held in the join state.
    broken = false;
    const next = processor.process({ ...batch, messages: [joinMessages[1]!] });
    assert.equal(next.filter((r) => r.topic === topics.joinState).length, 1);
    assert.equal(processor.joinStateSize, 1);
  });
});
