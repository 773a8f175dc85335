/** The `emitter` event source type (Argo `EmitterEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, connectionBackoff, tls } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const emitterSource = {
  schema: obj(
    'EmitterEventSource',
    {
      broker: str('Broker URL.'),
      channelKey: str('Channel key.'),
      channelName: str('Channel name.'),
      username: secret('User name.'),
      password: secret('Password.'),
      connectionBackoff,
      jsonBody,
      tls,
      metadata,
      filter,
    },
    {
      doc: 'Argo `EmitterEventSource` (type string `emitter`).',
      required: ['broker', 'channelKey', 'channelName'],
    },
  ),
} satisfies TypeModel;
