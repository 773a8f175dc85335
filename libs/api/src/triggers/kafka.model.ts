/** The `kafka` trigger type (Argo `KafkaTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { arr, bool, deprecated, int, obj, str, stringMap } from '../schema/dsl.schema.js';
import { SASLConfig, SchemaRegistryConfig } from '../schema/common.schema.js';
import { parameters, payload, tls, SecureHeader } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const kafkaTrigger = {
  schema: obj(
    'KafkaTrigger',
    {
      url: str('Comma-separated brokers.'),
      topic: str('Topic.'),
      partition: deprecated(int('Partition.'), 'use partitioningKey'),
      parameters,
      requiredAcks: int('Acks required: 0, 1 or -1 (all); 1 by default.', {
        minimum: -1,
        maximum: 1,
      }),
      compress: bool('Compress with snappy.'),
      flushFrequency: int('Flush interval in milliseconds; 500 by default.', { minimum: 0 }),
      tls,
      payload,
      partitioningKey: str('Message key (a parameter dest or a fixed value).'),
      version: str('Kafka protocol version.'),
      sasl: SASLConfig,
      schemaRegistry: SchemaRegistryConfig,
      headers: stringMap('Message headers.'),
      secureHeaders: arr(SecureHeader, 'Headers read from Secrets or ConfigMaps.'),
    },
    {
      doc: 'Argo `KafkaTrigger`: produce a message to Kafka.',
      required: ['url', 'topic', 'payload'],
    },
  ),
} satisfies TypeModel;
