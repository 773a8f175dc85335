/** The `kafka` event source type (Argo `KafkaEventSource`): its schema fragment and its validation rules. */
import { int, obj, str } from '../schema/dsl.schema.js';
import { KafkaConsumerGroup, SASLConfig, SchemaRegistryConfig } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, connectionBackoff, tls } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const kafkaSource = {
  schema: obj(
    'KafkaEventSource',
    {
      url: str('Comma-separated brokers.'),
      partition: str('Partition to read when there is no consumer group, as a string.'),
      topic: str('Topic.'),
      connectionBackoff,
      tls,
      jsonBody,
      metadata,
      consumerGroup: KafkaConsumerGroup,
      limitEventsPerSecond: int('Maximum events per second.', { minimum: 0 }),
      version: str('Kafka protocol version (sarama), 1.0.0 by default.'),
      sasl: SASLConfig,
      filter,
      config: str('Extra sarama configuration as YAML.'),
      schemaRegistry: SchemaRegistryConfig,
      awsMskIamAuth: obj(
        'AWSMskIamAuth',
        { region: str('AWS region.') },
        { doc: 'AWS MSK IAM authentication.', required: ['region'] },
      ),
    },
    { doc: 'Argo `KafkaEventSource` (type string `kafka`).', required: ['url', 'topic'] },
  ),
  rules: {
    KafkaEventSource: (v, path, { c }) => {
      if (
        typeof v['partition'] === 'string' &&
        v['partition'] !== '' &&
        !/^\d+$/.test(v['partition'])
      )
        c.error(`${path}.partition`, `must be a partition number, got "${v['partition']}"`);
      if (set(v['awsMskIamAuth']) && set(v['sasl']))
        c.error(
          `${path}.awsMskIamAuth`,
          'and sasl are exclusive (MSK IAM is its own SASL mechanism)',
        );
      if (!set(v['partition']) && !set(v['consumerGroup']))
        c.error(path, 'either partition or consumerGroup is required');
      for (const b of String(v['url']).split(','))
        if (!/^[^:\s/]+:\d{1,5}$/.test(b.trim()))
          c.error(`${path}.url`, `"${b.trim()}" is not host:port`);
    },
  },
} satisfies TypeModel;
