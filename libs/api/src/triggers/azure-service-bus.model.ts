/** The `azureServiceBus` trigger type (Argo `AzureServiceBusTrigger`): its schema fragment and its validation rules. */
import { obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { parameters, payload, tls } from './trigger-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const azureServiceBusTrigger = {
  schema: obj(
    'AzureServiceBusTrigger',
    {
      connectionString: secret('Connection string.'),
      queueName: str('Queue name.'),
      topicName: str('Topic name.'),
      subscriptionName: str('Subscription name.'),
      tls,
      payload,
      parameters,
    },
    {
      doc: 'Argo `AzureServiceBusTrigger`: send to Azure Service Bus.',
      required: ['connectionString'],
      atLeastOne: [['queueName', 'topicName']],
    },
  ),
  rules: {
    AzureServiceBusTrigger: (v, path, { c }) => {
      if (set(v['topicName']) && !set(v['subscriptionName']))
        c.error(`${path}.subscriptionName`, 'is required with topicName');
    },
  },
} satisfies TypeModel;
