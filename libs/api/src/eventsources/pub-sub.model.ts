/** The `pubSub` event source type (Argo `PubSubEventSource`): its schema fragment and its validation rules. */
import { bool, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const pubSubSource = {
  schema: obj(
    'PubSubEventSource',
    {
      projectID: str('GCP project of the subscription.'),
      topicProjectID: str('GCP project of the topic.'),
      topic: str('Topic.'),
      subscriptionID: str('Subscription id.'),
      credentialSecret: secret('Service account key JSON.'),
      deleteSubscriptionOnFinish: bool('Delete the subscription when the EventSource stops.'),
      jsonBody,
      metadata,
      filter,
    },
    {
      doc: 'Argo `PubSubEventSource` (type string `pubsub`).',
      atLeastOne: [['topic', 'subscriptionID']],
    },
  ),
  rules: {
    PubSubEventSource: (v, path, { c }) => {
      if (set(v['topicProjectID']) && !set(v['topic']))
        c.error(`${path}.topic`, 'is required with topicProjectID');
    },
  },
} satisfies TypeModel;
