/** The `mqtt` event source type (Argo `MQTTEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { obj, str, withDoc } from '../schema/dsl.schema.js';
import { BasicAuth } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, connectionBackoff, tls } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const mqttSource = {
  schema: obj(
    'MQTTEventSource',
    {
      url: str('Broker URL, e.g. tcp://mqtt:1883.'),
      topic: str('Topic.'),
      clientId: str('Client id.'),
      connectionBackoff,
      jsonBody,
      tls,
      metadata,
      filter,
      auth: withDoc(BasicAuth, 'User name and password.'),
    },
    { doc: 'Argo `MQTTEventSource` (type string `mqtt`).', required: ['url', 'topic', 'clientId'] },
  ),
} satisfies TypeModel;
