/** The `sns` event source type (Argo `SNSEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { bool, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, webhook } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const snsSource = {
  schema: obj(
    'SNSEventSource',
    {
      webhook,
      topicArn: str('Topic ARN.'),
      accessKey: secret('AWS access key.'),
      secretKey: secret('AWS secret key.'),
      region: str('AWS region.'),
      roleARN: str('Role to assume.'),
      metadata,
      validateSignature: bool('Verify the SNS message signature.'),
      filter,
      endpoint: str('SNS endpoint override.'),
    },
    {
      doc: 'Argo `SNSEventSource` (type string `sns`).',
      required: ['webhook', 'topicArn', 'region'],
    },
  ),
} satisfies TypeModel;
