import { CloudEvent, Kafka as CEKafka, type KafkaMessage as CEKafkaMessage } from 'cloudevents';
import type { IHeaders, KafkaMessage } from 'kafkajs';

/**
 * CloudEvents Kafka protocol binding, binary content mode (`ce_*` headers, data as the value):
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md
 * The encoding and decoding are the `cloudevents` package's own (`Kafka.binary`, `Kafka.toEvent`).
 */
export interface EventRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export function encodeCloudEvent(event: CloudEvent<unknown>, key: string): EventRecord {
  const msg = CEKafka.binary(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = String(v);
  const body = msg.value;
  const value = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body ?? null));
  return { key, value, headers };
}

function headerMap(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined)
      out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

/** Decodes a consumed record into a CloudEvent (binary or structured mode). */
export function decodeCloudEvent(message: KafkaMessage): CloudEvent<unknown> {
  const m: CEKafkaMessage = {
    key: message.key?.toString('utf8') ?? '',
    value: message.value ?? Buffer.alloc(0),
    headers: headerMap(message.headers),
    body: message.value ?? Buffer.alloc(0),
    timestamp: message.timestamp,
  } as CEKafkaMessage;
  const event = CEKafka.toEvent(m);
  if (Array.isArray(event))
    throw new Error('batched CloudEvents are not supported on the event topic');
  return event as CloudEvent<unknown>;
}

/** Parses a CloudEvent's data into a JSON value when its content type is JSON. */
export function eventData(event: CloudEvent<unknown>): unknown {
  const data = event.data ?? event.data_base64;
  if (data === undefined) return null;
  const json = !event.datacontenttype || /json/i.test(event.datacontenttype);
  if (Buffer.isBuffer(data) || data instanceof Uint8Array) {
    const text = Buffer.from(data).toString('utf8');
    if (!json) return text;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (typeof data === 'string' && json) {
    try {
      return JSON.parse(data);
    } catch {
      return data;
    }
  }
  return data;
}

export { headerMap };
