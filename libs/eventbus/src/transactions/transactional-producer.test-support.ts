/**
 * Test support: a transactional producer configured as the loops configure theirs for the
 * broker's transaction requests (idempotent, one request in flight, the transaction retry).
 * Used by the *.test.ts files only.
 */
import type { Kafka, Producer } from 'kafkajs';
import { TRANSACTION_RETRY } from '../client/client.js';

/** A connected transactional producer with the id `transactionalId`. */
export async function transactionalProducer(
  kafka: Kafka,
  transactionalId: string,
): Promise<Producer> {
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { ...TRANSACTION_RETRY },
  });
  await producer.connect();
  return producer;
}
