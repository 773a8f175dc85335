import type { Backoff as BackoffSpec, SecretKeySelector, TLSConfig } from '@ganglion/api';
import type { EventRecord } from '@ganglion/eventbus';
import type { Logger } from '@ganglion/telemetry';
import type { OwnedEvent } from './owned-source.js';
import type { IncomingCloudEvent } from './push-source.js';

/**
 * One message pulled from a broker, as a broker ("pull") source type hands it to the kit
 * ({@link BrokerContext.deliver}).
 */
export interface BrokerMessage {
  /**
   * The message's identity at the source (`<topic>/<partition>/<offset>`, a stream entry id, a
   * message id): the CloudEvent id derives from it (`naturalEventId`), so a redelivery carries
   * the same id. Undefined only for sources whose messages have no identity (core NATS, Redis
   * pub/sub): a fresh random id then.
   */
  naturalId?: string;
  /** Argo's event data for the type, without `metadata` (the kit adds it). */
  data: Record<string, unknown>;
  /** Approximate size (bytes) of the message, for the in-flight byte bound. */
  bytes: number;
  /** CloudEvent attributes and trace context the message carries ({@link incomingFromHeaders}). */
  incoming?: IncomingCloudEvent;
  /** Event time (default: now, as in Argo). */
  time?: Date;
  /**
   * Acknowledges the message at the source. The kit calls it once the event is on the bus
   * (acks=all), or at once when `filter.expression` dropped it, strictly in delivery order (the
   * order of the `deliver` calls): when it is called, every message delivered before it has been
   * acknowledged, so a type may gather the acknowledgements of one turn of the event loop into
   * one command (one XACK of several ids, AMQP's `multiple`). Absent for sources that have no
   * acknowledgement.
   */
  ack?: () => void | Promise<void>;
}

/** What the kit hands a broker source type when it connects one configured event. */
export interface BrokerContext<C> {
  /** The configured event (namespace, EventSource, event name, bus, configuration). */
  event: OwnedEvent<C>;
  config: C;
  logger: Logger;
  /** This replica's name (consumer names, MQTT client ids): unique among the replicas. */
  replica: string;
  /** A Secret key's value (resolved as the push sources do: Kubernetes API or local files). */
  secret(selector: SecretKeySelector): Promise<string>;
  /** An optional Secret key's value (undefined when the selector is). */
  optionalSecret(selector: SecretKeySelector | undefined): Promise<string | undefined>;
  /** Argo's `tls` block as Node TLS options (undefined when absent). */
  tls(config: TLSConfig | undefined): Promise<TlsOptions | undefined>;
  /**
   * Hands one message to the kit, in the source's order. Resolves when the kit has room for the
   * next one (bounded messages and bytes in flight): a pulling source awaits it before pulling
   * more; a source whose client pushes messages is paused instead ({@link BrokerSession.pause}).
   */
  deliver(message: BrokerMessage): Promise<void>;
  /**
   * The bus record of a message, or undefined when `filter.expression` drops it: for a source
   * that publishes itself (the kafka source on the bus's own cluster, in one transaction).
   */
  recordOf(message: BrokerMessage): { topic: string; id: string; record: EventRecord } | undefined;
  /** The connection was lost after connecting: the kit closes the session and reconnects. */
  fail(error: unknown): void;
}

/** Node TLS options from Argo's `tls` block. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

/** A connected broker source event. */
export interface BrokerSession {
  /** Stop taking messages from the source (the kit's in-flight window is full). */
  pause?(): void;
  /** Take messages again (the window has room). */
  resume?(): void;
  /**
   * Disconnects. Messages delivered but not acknowledged stay at the source (redelivered to
   * this or another replica).
   */
  close(): Promise<void>;
}

/**
 * A broker source type: the kit runs one session per configured event, connecting (and
 * reconnecting, with the event's `connectionBackoff`), publishing what the session delivers and
 * acknowledging it at the source only after the bus acknowledged it.
 */
export interface BrokerSourceType<C> {
  /** Argo's type string (`kafka`, `redisStream`): the CloudEvent `type`. */
  type: string;
  /** Connects and starts delivering; rejecting makes the kit retry with backoff. */
  connect(ctx: BrokerContext<C>): Promise<BrokerSession>;
}

/** The options every broker type shares (Argo's common fields). */
export interface CommonBrokerConfig {
  jsonBody?: boolean;
  metadata?: Record<string, string>;
  filter?: { expression: string };
  connectionBackoff?: BackoffSpec;
  limitEventsPerSecond?: number;
}

/** W3C trace context header syntax (version 00). */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The CloudEvent attributes and trace context in a message's headers: the binary content mode
 * of the Kafka, AMQP, NATS and MQTT bindings (`ce_id`, `ce-id`, `cloudEvents:id`, any case),
 * and a W3C `traceparent`/`tracestate` header. A structured-mode body is left to the type.
 */
export function incomingFromHeaders(
  headers: Record<string, string | Buffer | undefined> | undefined,
): IncomingCloudEvent | undefined {
  if (!headers) return undefined;
  const ce: Record<string, string> = {};
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = raw.toString();
    const n = name.toLowerCase();
    const m = /^(?:ce[_-]|cloudevents:)(.+)$/.exec(n);
    if (m) ce[m[1]!] = value;
    else if (n === 'traceparent') traceparent = value;
    else if (n === 'tracestate') tracestate = value;
  }
  const out: IncomingCloudEvent = {};
  if (ce['id'] && ce['specversion']) {
    out.id = ce['id'];
    if (ce['source']) out.source = ce['source'];
    if (ce['type']) out.type = ce['type'];
    if (ce['traceparent']) out.traceparent = ce['traceparent'];
    if (ce['tracestate']) out.tracestate = ce['tracestate'];
  }
  if (traceparent && !out.traceparent) {
    out.traceparent = traceparent;
    if (tracestate) out.tracestate = tracestate;
  }
  if (out.traceparent && !TRACEPARENT.test(out.traceparent)) {
    delete out.traceparent;
    delete out.tracestate;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * Argo's `body` of a message: with `jsonBody` the payload as JSON (a payload that is not JSON
 * stays a string, as Argo's `json.RawMessage` would fail), otherwise Go's `[]byte` encoding, a
 * base64 string.
 */
export function argoBody(payload: Buffer | string | null | undefined, jsonBody?: boolean): unknown {
  const buf =
    payload === null || payload === undefined
      ? Buffer.alloc(0)
      : typeof payload === 'string'
        ? Buffer.from(payload)
        : payload;
  if (!jsonBody) return buf.toString('base64');
  const text = buf.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
