import type { AnyResource } from '@ganglion/api';
import type { BatchingProducerOptions } from '@ganglion/eventbus';

/** The part of the resource store a source runner reads (libs/eventbus `ResourceStore` fits). */
export interface ResourceView {
  get<T extends AnyResource>(kind: T['kind'], namespace: string, name: string): T | undefined;
  list<T extends AnyResource>(kind: T['kind']): T[];
  onChange(listener: () => void): () => void;
}

/**
 * Producer settings of the push ingress services: up to five produce requests in flight at once
 * (each on its own idempotent producer, as Kafka's Java producer keeps five), so
 * acknowledgements are not limited to one broker round trip at a time, and 1 ms linger (a
 * request waits at most that long for others to share its produce request). HTTP requests in flight together have no order to keep; an event is still
 * ordered after every event acknowledged before it was received, and the events of one request
 * keep their order (`OutRecord.group`). At most 64 MiB of events wait for acknowledgement
 * (beyond, 503 + Retry-After at once). An event larger than 4 MiB is refused with 413 before it
 * is sent: the bus topics Ganglion creates take 8 MiB records (`max.message.bytes`, libs/eventbus
 * `TopicPolicy`), so an event within the default `maxPayloadSize` (1 MiB, even base64-encoded)
 * always fits; on a topic that takes less, the broker's MESSAGE_TOO_LARGE is a 413 too.
 */
export const PUSH_PRODUCER_OPTIONS: Omit<BatchingProducerOptions, 'logger'> = {
  maxInFlight: 5,
  lingerMs: 1,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxRecordBytes: 4 * 1024 * 1024,
};
