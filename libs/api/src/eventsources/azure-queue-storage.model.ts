/** The `azureQueueStorage` event source type (Argo `AzureQueueStorageEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { bool, int, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const azureQueueStorageSource = {
  schema: obj(
    'AzureQueueStorageEventSource',
    {
      storageAccountName: str('Storage account name (Azure AD authentication).'),
      connectionString: secret('Connection string.'),
      queueName: str('Queue name.'),
      jsonBody,
      dlq: bool('Leave failed messages in the queue so they reach the dead-letter queue.'),
      metadata,
      filter,
      decodeMessage: bool('Base64-decode the message.'),
      waitTimeInSeconds: int('Long-poll wait time in seconds.', { minimum: 0 }),
    },
    {
      doc: 'Argo `AzureQueueStorageEventSource` (type string `azureQueueStorage`).',
      required: ['queueName'],
      atLeastOne: [['storageAccountName', 'connectionString']],
    },
  ),
} satisfies TypeModel;
