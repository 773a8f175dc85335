import { createHash, randomUUID } from 'node:crypto';
import { CloudEvent, encodeCloudEvent, type EventRecord } from '@ganglion/eventbus';
import { mediaType, type IncomingCloudEvent, type IncomingRequest } from './push-source.js';

/** Argo's event id: a fresh UUID written as 32 hex digits. */
export function randomEventId(): string {
  return randomUUID().replace(/-/g, '');
}

/**
 * A deterministic event id from a source's natural id (a GitHub delivery id, a Stripe event
 * id, a scheduled time): the first 32 hex digits of SHA-256 over the namespace, EventSource,
 * event name and natural id. The same delivery retried by the provider, or the same tick
 * fired again after a failover, gets the same id.
 */
export function naturalEventId(
  namespace: string,
  eventSource: string,
  eventName: string,
  natural: string,
): string {
  return createHash('sha256')
    .update(`${namespace}\0${eventSource}\0${eventName}\0${natural}`)
    .digest('hex')
    .slice(0, 32);
}

/** W3C trace context header syntax (version 00). */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The CloudEvent attributes a sender gave: binary mode `Ce-*` headers, or a structured-mode
 * body (`application/cloudevents+json`), plus a W3C `traceparent` header.
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
 */
export function incomingCloudEvent(request: IncomingRequest): IncomingCloudEvent | undefined {
  const h = (name: string): string | undefined => request.header[name]?.[0];
  const out: IncomingCloudEvent = {};
  if (h('Ce-Id') && h('Ce-Specversion')) {
    out.id = h('Ce-Id');
    if (h('Ce-Source')) out.source = h('Ce-Source');
    if (h('Ce-Type')) out.type = h('Ce-Type');
    if (h('Ce-Traceparent')) out.traceparent = h('Ce-Traceparent');
  } else if (mediaType(request) === 'application/cloudevents+json') {
    try {
      const ce = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
      if (typeof ce['id'] === 'string') out.id = ce['id'];
      if (typeof ce['source'] === 'string') out.source = ce['source'];
      if (typeof ce['type'] === 'string') out.type = ce['type'];
      if (typeof ce['traceparent'] === 'string') out.traceparent = ce['traceparent'];
    } catch {
      // not a structured CloudEvent after all; the source decides what the body is
    }
  }
  const tp = h('Traceparent');
  if (tp && !out.traceparent) out.traceparent = tp;
  if (out.traceparent && !TRACEPARENT.test(out.traceparent)) delete out.traceparent;
  const ts = h('Tracestate');
  if (out.traceparent && ts) out.tracestate = ts;
  return Object.keys(out).length ? out : undefined;
}

export interface EventAttributes {
  id: string;
  /** Argo's type string (`webhook`, `calendar`). */
  type: string;
  /** The EventSource name. */
  source: string;
  /** The event name. */
  subject: string;
  time?: Date;
  data: unknown;
  incoming?: IncomingCloudEvent;
  /**
   * The EventSource's namespace, as the CloudEvent extension `namespace` (header `ce_namespace`):
   * a sensor matches an event to its dependencies only in its own namespace.
   */
  namespace?: string;
}

/** Argo's CloudEvent for one event, with an incoming CloudEvent's attributes kept as extensions. */
export function buildCloudEvent(a: EventAttributes): CloudEvent<unknown> {
  const ext: Record<string, string> = {};
  if (a.incoming?.source) ext['originsource'] = a.incoming.source;
  if (a.incoming?.type) ext['origintype'] = a.incoming.type;
  if (a.incoming?.traceparent) ext['traceparent'] = a.incoming.traceparent;
  if (a.incoming?.tracestate) ext['tracestate'] = a.incoming.tracestate;
  if (a.namespace) ext['namespace'] = a.namespace;
  return new CloudEvent<unknown>({
    id: a.id,
    type: a.type,
    source: a.source,
    subject: a.subject,
    time: (a.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    data: a.data,
    ...ext,
  });
}

/** An EventSource name (a Kubernetes object name): a valid CloudEvent `source` URI-reference. */
const PLAIN_SOURCE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * The Kafka record of Argo's CloudEvent for one event, binary content mode:
 * `encodeCloudEvent(buildCloudEvent(a), key)` without building a `CloudEvent` on the hot path.
 * The headers are the ones the `cloudevents` package writes (same names, values and order;
 * `cloudevent.test.ts` compares the two) and the value is the data serialised once. Attributes
 * the package would have to validate or convert (a `source` that is not a plain name, empty
 * attributes, binary data) take the package's own path.
 */
export function cloudEventRecord(a: EventAttributes, key: string): EventRecord {
  const data = a.data;
  if (
    !a.id ||
    !a.type ||
    !a.subject ||
    !PLAIN_SOURCE.test(a.source) ||
    (data !== null && typeof data === 'object' && ArrayBuffer.isView(data))
  )
    return encodeCloudEvent(buildCloudEvent(a), key);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ce_id: a.id,
    ce_time: (a.time ?? new Date()).toISOString(),
    ce_type: a.type,
    ce_source: a.source,
    ce_specversion: '1.0',
    ce_datacontenttype: 'application/json',
    ce_subject: a.subject,
  };
  const incoming = a.incoming;
  if (incoming) {
    if (incoming.source) headers['ce_originsource'] = incoming.source;
    if (incoming.type) headers['ce_origintype'] = incoming.type;
    if (incoming.traceparent) headers['ce_traceparent'] = incoming.traceparent;
    if (incoming.tracestate) headers['ce_tracestate'] = incoming.tracestate;
  }
  if (a.namespace) headers['ce_namespace'] = a.namespace;
  const value = Buffer.from(typeof data === 'string' ? data : JSON.stringify(data ?? null));
  return { key, value, headers };
}
