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
 * (beyond, 503 + Retry-After at once), and an event larger than 1 000 000 bytes (below the
 * broker's default `message.max.bytes`, 1 MiB) is refused with 413 instead of by the broker.
 */
export const PUSH_PRODUCER_OPTIONS: Omit<BatchingProducerOptions, 'logger'> = {
  maxInFlight: 5,
  lingerMs: 1,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxRecordBytes: 1_000_000,
};
