import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * Span helpers following the OTel messaging conventions (`send <topic>` producer spans,
 * `process <topic>` consumer spans, W3C trace context in the Kafka message headers) plus the
 * few low-cardinality spans of Ganglion's own (`evaluate`, `trigger <type>`). Without a
 * registered SDK every helper still propagates an incoming trace context unchanged.
 */
const TRACER_NAME = 'ganglion';

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** Kafka message headers as strings (what the CloudEvents binding produces and consumes). */
export type Headers = Record<string, string>;

const headerGetter = {
  keys: (carrier: Headers) => Object.keys(carrier),
  get: (carrier: Headers, key: string) => carrier[key],
};
const headerSetter = {
  set: (carrier: Headers, key: string, value: string) => {
    carrier[key] = value;
  },
};

/**
 * The trace context carried by a message: the W3C `traceparent`/`tracestate` headers, or else
 * the CloudEvents distributed-tracing extension (`ce_traceparent`/`ce_tracestate` in the Kafka
 * binding, `ce-traceparent` in HTTP binary mode).
 */
export function extractContext(headers: Headers, base: Context = ROOT_CONTEXT): Context {
  const direct = propagation.extract(base, headers, headerGetter);
  if (trace.getSpanContext(direct)) return direct;
  for (const prefix of ['ce_', 'ce-']) {
    const tp = headers[`${prefix}traceparent`];
    if (!tp) continue;
    const carrier: Headers = { traceparent: tp };
    const ts = headers[`${prefix}tracestate`];
    if (ts) carrier['tracestate'] = ts;
    const ctx = propagation.extract(base, carrier, headerGetter);
    if (trace.getSpanContext(ctx)) return ctx;
  }
  return base;
}

/** Writes the context's span as W3C `traceparent` (and `tracestate`) into the headers. */
function injectContext(headers: Headers, ctx: Context = context.active()): Headers {
  propagation.inject(ctx, headers, headerSetter);
  return headers;
}

/** A span context as a W3C traceparent string (for logs and stored join state). */
export function traceparentOf(sc: SpanContext | undefined): string | undefined {
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 1).toString(16).padStart(2, '0')}`;
}

/** Parses a W3C traceparent string into a span context (undefined when malformed). */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  if (!traceparent) return undefined;
  return trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent }, headerGetter));
}

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : new Error(String(err)));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.message : String(err),
  });
}

/** Runs `fn` inside a span, ending it when `fn` settles (errors recorded and rethrown). */
export function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; links?: Link[]; parent?: Context },
  fn: (span: Span) => T,
): T {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      attributes: options.attributes ?? {},
      links: options.links ?? [],
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  let result: T;
  try {
    result = context.with(ctx, () => fn(span));
  } catch (err) {
    fail(span, err);
    span.end();
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (v: unknown) => {
        span.end();
        return v;
      },
      (err: unknown) => {
        fail(span, err);
        span.end();
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}

export interface SendInfo {
  /** The CloudEvent id (`messaging.message.id`). */
  messageId?: string;
  /** The Kafka record key (`messaging.kafka.message.key`). */
  key?: string;
  attributes?: Attributes;
  /** Traces this message continues besides its parent (a join links all its events' traces). */
  links?: SpanContext[];
}

function sendAttributes(topic: string, info: SendInfo): Attributes {
  return {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
    'messaging.destination.name': topic,
    ...(info.messageId ? { 'messaging.message.id': info.messageId } : {}),
    ...(info.key ? { 'messaging.kafka.message.key': info.key } : {}),
    ...(info.attributes ?? {}),
  };
}

/**
 * Producer span `send <topic>` around `fn` (which produces the record and resolves on the
 * broker's acknowledgement). Its context is injected into `headers` before `fn` runs. A trace
 * context already on the CloudEvent (`ce_traceparent`) is honoured: the span continues that
 * trace, and links to the caller's (e.g. the HTTP request's) span.
 */
export function withSendSpan<T>(
  topic: string,
  headers: Headers,
  info: SendInfo,
  fn: () => Promise<T>,
): Promise<T> {
  const active = context.active();
  const fromEvent = extractContext({
    ...(headers['ce_traceparent'] ? { ce_traceparent: headers['ce_traceparent'] } : {}),
  });
  const eventSc = trace.getSpanContext(fromEvent);
  const activeSc = trace.getSpanContext(active);
  const links: Link[] = (info.links ?? []).map((c) => ({ context: c }));
  if (eventSc && activeSc && trace.isSpanContextValid(activeSc)) links.push({ context: activeSc });
  return inSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: sendAttributes(topic, info),
      links,
      parent: eventSc ? fromEvent : active,
    },
    () => {
      injectContext(headers);
      return fn();
    },
  );
}

/**
 * A producer span `send <topic>` for a record produced inside a Kafka transaction (the action
 * records of the sensor): started and ended at once, its context injected into `headers`, so the
 * consumer of the record continues the trace. `links` are the traces of every event that made
 * the action (span links, OTel's way to say "caused by these too").
 */
export function markSend(
  topic: string,
  headers: Headers,
  info: SendInfo & { parent?: Context } = {},
): Headers {
  // The parent is already the causal link; the other events' traces become span links.
  const parentSpan = trace.getSpanContext(info.parent ?? context.active())?.spanId;
  const links: Link[] = (info.links ?? [])
    .filter((c) => c.spanId !== parentSpan)
    .map((c) => ({ context: c }));
  return inSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: sendAttributes(topic, info),
      links,
      ...(info.parent ? { parent: info.parent } : {}),
    },
    () => injectContext(headers),
  );
}

export interface ProcessInfo {
  partition?: number;
  offset?: string;
  messageId?: string;
  consumerGroup?: string;
  attributes?: Attributes;
}

/**
 * Consumer span `process <topic>` continuing the trace carried in the record's headers; `fn`
 * runs inside it (synchronously or not).
 */
export function withProcessSpan<T>(
  topic: string,
  headers: Headers,
  info: ProcessInfo,
  fn: (span: Span) => T,
): T {
  const parent = extractContext(headers, context.active());
  return inSpan(
    `process ${topic}`,
    { kind: SpanKind.CONSUMER, attributes: processAttributes(topic, info), parent },
    (span) => {
      if (info.messageId) eventTraces.remember(info.messageId, span.spanContext());
      return fn(span);
    },
  );
}

/** A started `process <topic>` span, for loops that cannot wrap their body in a callback. */
export interface ProcessSpan {
  span: Span;
  /** The context to parent child spans on (`inSpan(..., { parent })`, `markSend(..., { parent })`). */
  context: Context;
  /** Names the CloudEvent the record carried (attribute, and remembered for join links). */
  event(id: string): void;
  /** Ends the span; an error (or a reason) marks it failed. */
  end(error?: unknown): void;
}

/** Starts a consumer span `process <topic>` continuing the record's trace; call `end()`. */
export function startProcessSpan(topic: string, headers: Headers, info: ProcessInfo): ProcessSpan {
  const parent = extractContext(headers, context.active());
  const span = tracer().startSpan(
    `process ${topic}`,
    { kind: SpanKind.CONSUMER, attributes: processAttributes(topic, info) },
    parent,
  );
  if (info.messageId) eventTraces.remember(info.messageId, span.spanContext());
  return {
    span,
    context: trace.setSpan(parent, span),
    event: (id) => {
      span.setAttribute('messaging.message.id', id);
      eventTraces.remember(id, span.spanContext());
    },
    end: (error) => {
      if (error !== undefined) fail(span, error);
      span.end();
    },
  };
}

function processAttributes(topic: string, info: ProcessInfo): Attributes {
  return {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': topic,
    ...(info.partition !== undefined
      ? { 'messaging.destination.partition.id': String(info.partition) }
      : {}),
    ...(info.offset !== undefined ? { 'messaging.kafka.offset': Number(info.offset) } : {}),
    ...(info.messageId ? { 'messaging.message.id': info.messageId } : {}),
    ...(info.consumerGroup ? { 'messaging.consumer.group.name': info.consumerGroup } : {}),
    ...(info.attributes ?? {}),
  };
}

/**
 * The span contexts of recently processed events by CloudEvent id (bounded, most recent kept),
 * so that an action made of several events (a join) can link all their traces. State kept
 * across restarts (join changelog) should store {@link traceparentOf} per event instead and
 * pass the parsed contexts as links.
 */
class EventTraceRegistry {
  private readonly map = new Map<string, SpanContext>();
  constructor(private readonly capacity = 20_000) {}

  remember(eventId: string, sc: SpanContext): void {
    if (!trace.isSpanContextValid(sc)) return;
    this.map.delete(eventId);
    this.map.set(eventId, sc);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }

  get(eventId: string): SpanContext | undefined {
    return this.map.get(eventId);
  }

  /** Span contexts of the given events that are known (unknown ids are skipped). */
  links(eventIds: Iterable<string>): SpanContext[] {
    const out: SpanContext[] = [];
    const seen = new Set<string>();
    for (const id of eventIds) {
      const sc = this.map.get(id);
      if (sc && !seen.has(sc.spanId)) {
        seen.add(sc.spanId);
        out.push(sc);
      }
    }
    return out;
  }
}

export const eventTraces = new EventTraceRegistry();

export { SpanKind, type Span, type SpanContext, type Context, type Attributes };
