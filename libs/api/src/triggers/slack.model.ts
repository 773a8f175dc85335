/** The `slack` trigger type (Argo `SlackTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { bool, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { parameters } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const slackTrigger = {
  schema: obj(
    'SlackTrigger',
    {
      parameters,
      slackToken: secret('Slack bot token.'),
      channel: str('Channel to post to.'),
      message: str('Message text.'),
      attachments: str('Attachments as a JSON string.'),
      blocks: str('Blocks as a JSON string.'),
      thread: obj('SlackThread', {
        messageAggregationKey: str('Key grouping messages in one thread.'),
        broadcastMessageToChannel: bool('Also post to the channel.'),
      }),
      sender: obj('SlackSender', {
        username: str('Display name.'),
        icon: str('Icon URL or emoji.'),
      }),
    },
    { doc: 'Argo `SlackTrigger`: post a Slack message.', required: ['slackToken'] },
  ),
} satisfies TypeModel;
