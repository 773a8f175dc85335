/** The `stripe` event source type (Argo `StripeEventSource`): its schema fragment and its validation rules. */
import { arr, bool, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, webhook } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const stripeSource = {
  schema: obj(
    'StripeEventSource',
    {
      webhook,
      createWebhook: bool('Register the endpoint with Stripe.'),
      apiKey: secret('Stripe API key (needed with createWebhook).'),
      eventFilter: arr(str(), 'Stripe event types to accept.'),
      webhookSecret: secret(
        'Ganglion extension: the endpoint signing secret (whsec_...); when set, Stripe-Signature is verified.',
      ),
      metadata,
    },
    { doc: 'Argo `StripeEventSource` (type string `stripe`).', required: ['webhook'] },
  ),
  rules: {
    StripeEventSource: (v, path, { c }) => {
      if (v['createWebhook'] === true && !set(v['apiKey']))
        c.error(`${path}.apiKey`, 'is required when createWebhook is true');
    },
  },
} satisfies TypeModel;
