/** The `generic` event source type (Argo `GenericEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { bool, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const genericSource = {
  schema: obj(
    'GenericEventSource',
    {
      url: str('Address of the gRPC server implementing `Eventing`.'),
      config: str('Opaque configuration sent to the server.'),
      insecure: bool('Connect without TLS.'),
      jsonBody,
      metadata,
      authSecret: secret('Sent as `authorization: Bearer` metadata.'),
      filter,
    },
    { doc: 'Argo `GenericEventSource` (type string `generic`).', required: ['url', 'config'] },
  ),
} satisfies TypeModel;
