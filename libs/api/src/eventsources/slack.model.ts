/** The `slack` event source type (Argo `SlackEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { obj } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, webhook } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const slackSource = {
  schema: obj(
    'SlackEventSource',
    {
      signingSecret: secret('Slack signing secret.'),
      token: secret('Events API verification token.'),
      webhook,
      metadata,
      filter,
    },
    {
      doc: 'Argo `SlackEventSource` (type string `slack`).',
      required: ['webhook', 'token', 'signingSecret'],
    },
  ),
} satisfies TypeModel;
