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
      metadata: { name, namespace: 'ns' },
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
