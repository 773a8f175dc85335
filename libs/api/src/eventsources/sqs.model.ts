/** The `sqs` event source type (Argo `SQSEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { bool, int, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const sqsSource = {
  schema: obj(
    'SQSEventSource',
    {
      accessKey: secret('AWS access key.'),
      secretKey: secret('AWS secret key.'),
      region: str('AWS region.'),
      queue: str('Queue name.'),
      waitTimeSeconds: int('Long-poll wait time in seconds.', { minimum: 1 }),
      roleARN: str('Role to assume.'),
      jsonBody,
      queueAccountId: str('Account id of the queue owner.'),
      metadata,
      dlq: bool('Do not delete failed messages so they reach the dead-letter queue.'),
      filter,
      endpoint: str('SQS endpoint override.'),
      sessionToken: secret('AWS session token.'),
    },
    {
      doc: 'Argo `SQSEventSource` (type string `sqs`).',
      required: ['region', 'queue', 'waitTimeSeconds'],
    },
  ),
} satisfies TypeModel;
