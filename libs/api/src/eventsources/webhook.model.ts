/** The `webhook` event source type (Argo `WebhookEventSource`): its schema fragment and its validation rules. */
import { obj } from '../schema/dsl.schema.js';
import { webhookContextFields } from '../schema/common.schema.js';
import { filter } from './source-fields.schema.js';
import { webhookContextRule } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const webhookSource = {
  schema: obj(
    'WebhookEventSource',
    { ...webhookContextFields, filter },
    {
      doc: 'Argo `WebhookEventSource`: a plain HTTP endpoint (type string `webhook`).',
      required: ['endpoint', 'method', 'port'],
    },
  ),
  // The endpoint fields are inline here, so the WebhookContext rule runs on the whole object.
  rules: { WebhookEventSource: webhookContextRule },
} satisfies TypeModel;
