import { randomBytes } from 'node:crypto';

/** A unique, Kafka-safe prefix for one test's topics and groups. */
export function uniquePrefix(label = 't'): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 24);
  return `${clean}-${randomBytes(4).toString('hex')}`;
}
