/** The `mns` event source type (Argo `MNSEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { int, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const mnsSource = {
  schema: obj(
    'MNSEventSource',
    {
      accessKey: secret('Access key.'),
      secretKey: secret('Secret key.'),
      queue: str('Queue name.'),
      waitTimeSeconds: int('Long-poll wait time.', { minimum: 0 }),
      endpoint: str('MNS endpoint.'),
      jsonBody,
      metadata,
      filter,
    },
    {
      doc: 'Argo `MNSEventSource` (Alibaba Cloud MNS, type string `mns`).',
      required: ['queue', 'endpoint'],
    },
  ),
} satisfies TypeModel;
