/** The `azureServiceBus` event source type (Argo `AzureServiceBusEventSource`): its schema fragment and its validation rules. */
import { bool, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, tls } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const azureServiceBusSource = {
  schema: obj(
    'AzureServiceBusEventSource',
    {
      connectionString: secret('Connection string.'),
      queueName: str('Queue name.'),
      topicName: str('Topic name (with subscriptionName).'),
      subscriptionName: str('Subscription name of the topic.'),
      tls,
      jsonBody,
      metadata,
      filter,
      fullyQualifiedNamespace: str('Namespace for Azure AD authentication.'),
      deferDelete: bool(
        'Argo: complete each message only after it was dispatched (peek-lock) instead of receive-and-delete. Ganglion always completes after the bus acknowledged the event.',
      ),
    },
    {
      doc: 'Argo `AzureServiceBusEventSource` (type string `azureServiceBus`).',
      atLeastOne: [
        ['connectionString', 'fullyQualifiedNamespace'],
        ['queueName', 'topicName'],
      ],
    },
  ),
  rules: {
    AzureServiceBusEventSource: (v, path, { c }) => {
      if (set(v['topicName']) && !set(v['subscriptionName']))
        c.error(`${path}.subscriptionName`, 'is required with topicName');
      if (set(v['subscriptionName']) && !set(v['topicName']))
        c.error(`${path}.topicName`, 'is required with subscriptionName');
      if (set(v['queueName']) && (set(v['topicName']) || set(v['subscriptionName'])))
        c.error(path, 'queueName and topicName/subscriptionName cannot be set together');
    },
  },
} satisfies TypeModel;
