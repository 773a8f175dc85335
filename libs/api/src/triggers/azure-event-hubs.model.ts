/** The `azureEventHubs` trigger type (Argo `AzureEventHubsTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { parameters, payload } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const azureEventHubsTrigger = {
  schema: obj(
    'AzureEventHubsTrigger',
    {
      fqdn: str('Fully qualified namespace.'),
      hubName: str('Event hub name.'),
      sharedAccessKeyName: secret('Shared access policy name.'),
      sharedAccessKey: secret('Shared access key.'),
      payload,
      parameters,
    },
    {
      doc: 'Argo `AzureEventHubsTrigger`: send to Azure Event Hubs.',
      required: ['fqdn', 'hubName', 'sharedAccessKeyName', 'sharedAccessKey'],
    },
  ),
} satisfies TypeModel;
