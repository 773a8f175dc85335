/** The `nats` event source type (Argo `NATSEventsSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { obj, str } from '../schema/dsl.schema.js';
import { NATSAuth } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, connectionBackoff, tls } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const natsSource = {
  schema: obj(
    'NATSEventsSource',
    {
      url: str('NATS URL.'),
      subject: str('Subject.'),
      connectionBackoff,
      jsonBody,
      tls,
      metadata,
      auth: NATSAuth,
      filter,
      queue: str('Queue group.'),
    },
    { doc: 'Argo `NATSEventsSource` (type string `nats`).', required: ['url', 'subject'] },
  ),
} satisfies TypeModel;
