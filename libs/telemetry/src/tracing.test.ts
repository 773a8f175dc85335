import { before, beforeEach, describe, it } from 'node:test';
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
import {
  eventTraces,
  extractContext,
  inSpan,
  markSend,
  spanContextOf,
  startProcessSpan,
  traceparentOf,
  withProcessSpan,
  withSendSpan,
} from './tracing.js';

const exporter = new InMemorySpanExporter();

function spans(): ReadableSpan[] {
  return exporter.getFinishedSpans();
}

function byName(name: string): ReadableSpan {
  const s = spans().find((x) => x.name === name);
  assert.ok(
    s,
    `span "${name}" in ${spans()
      .map((x) => x.name)
      .join(', ')}`,
  );
  return s;
}

describe('tracing helpers (messaging conventions, W3C context in Kafka headers)', () => {
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    );
  });
  beforeEach(() => exporter.reset());

  it('send injects the producer span into the headers and the consumer continues the trace', async () => {
    const headers: Record<string, string> = { ce_id: 'e1', ce_source: 'webhook' };
    await inSpan('POST', { kind: SpanKind.SERVER }, () =>
      withSendSpan(
        'bus',
        headers,
        { messageId: 'e1', key: 'webhook.example' },
        async () => undefined,
      ),
    );
    const send = byName('send bus');
    assert.equal(send.kind, SpanKind.PRODUCER);
    assert.equal(send.attributes['messaging.system'], 'kafka');
    assert.equal(send.attributes['messaging.destination.name'], 'bus');
    assert.equal(send.attributes['messaging.message.id'], 'e1');
    assert.equal(send.parentSpanContext?.spanId, byName('POST').spanContext().spanId);
    assert.equal(headers['traceparent'], traceparentOf(send.spanContext()));
    assert.equal(headers['ce_id'], 'e1', 'the CloudEvents headers stay');

    withProcessSpan('bus', headers, { partition: 2, offset: '41', messageId: 'e1' }, () =>
      inSpan('evaluate', {}, () => undefined),
    );
    const proc = byName('process bus');
    assert.equal(proc.kind, SpanKind.CONSUMER);
    assert.equal(proc.spanContext().traceId, send.spanContext().traceId);
    assert.equal(proc.parentSpanContext?.spanId, send.spanContext().spanId);
    assert.equal(proc.attributes['messaging.destination.partition.id'], '2');
    assert.equal(byName('evaluate').parentSpanContext?.spanId, proc.spanContext().spanId);
  });

  it("honours a trace context already on the CloudEvent and links the caller's span", async () => {
    const upstream = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const headers: Record<string, string> = { ce_id: 'e2', ce_traceparent: upstream };
    await inSpan('POST', { kind: SpanKind.SERVER }, () =>
      withSendSpan('bus', headers, {}, async () => undefined),
    );
    const send = byName('send bus');
    assert.equal(send.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(send.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.deepEqual(
      send.links.map((l) => l.context.spanId),
      [byName('POST').spanContext().spanId],
    );
    // A consumer reading only the CloudEvents extension continues it too.
    const ctx = extractContext({ ce_traceparent: upstream });
    assert.equal(trace.getSpanContext(ctx)?.traceId, '0af7651916cd43dd8448eb211c80319c');
  });

  it('records a failed send and rethrows', async () => {
    await assert.rejects(
      withSendSpan('bus', {}, {}, async () => Promise.reject(new Error('broker down'))),
      /broker down/,
    );
    const send = byName('send bus');
    assert.equal(send.status.code, 2);
    assert.equal(send.status.message, 'broker down');
  });

  it("a join's action links the traces of all its events; the action record carries the last event's trace", () => {
    const a = startProcessSpan(
      'bus',
      { traceparent: '00-11111111111111111111111111111111-1111111111111111-01' },
      { partition: 0, offset: '1' },
    );
    a.event('event-a');
    a.end();
    const b = startProcessSpan(
      'bus',
      { traceparent: '00-22222222222222222222222222222222-2222222222222222-01' },
      { partition: 1, offset: '7' },
    );
    b.event('event-b');
    const headers = markSend(
      'bus-actions',
      { 'content-type': 'application/json' },
      { parent: b.context, links: eventTraces.links(['event-a', 'event-b', 'unknown']) },
    );
    b.end();
    const send = byName('send bus-actions');
    assert.equal(send.spanContext().traceId, '22222222222222222222222222222222');
    assert.deepEqual(
      send.links.map((l) => l.context.traceId),
      ['11111111111111111111111111111111'],
      "the other event's trace is linked (the parent is not linked to itself)",
    );
    assert.equal(spanContextOf(headers['traceparent'])?.spanId, send.spanContext().spanId);
    assert.equal(headers['content-type'], 'application/json');
  });

  it('ends a failed process span with the reason', () => {
    const s = startProcessSpan('bus', {}, {});
    s.end('not a CloudEvent');
    const proc = byName('process bus');
    assert.equal(proc.status.code, 2);
    assert.equal(proc.parentSpanContext, undefined, 'a record without context starts a new trace');
  });
});
