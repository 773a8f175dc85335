/** The `nsq` event source type (Argo `NSQEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { obj, str } from '../schema/dsl.schema.js';
import { metadata, filter, jsonBody, connectionBackoff, tls } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const nsqSource = {
  schema: obj(
    'NSQEventSource',
    {
      hostAddress: str('nsqlookupd address.'),
      topic: str('Topic.'),
      channel: str('Channel.'),
      connectionBackoff,
      jsonBody,
      tls,
      metadata,
      filter,
    },
    {
      doc: 'Argo `NSQEventSource` (type string `nsq`).',
      required: ['hostAddress', 'topic', 'channel'],
    },
  ),
} satisfies TypeModel;
