/** The `azureEventsHub` event source type (Argo `AzureEventsHubEventSource`): its schema fragment and its validation rules. */
import { obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const azureEventsHubSource = {
  schema: obj(
    'AzureEventsHubEventSource',
    {
      fqdn: str('Fully qualified namespace, e.g. myns.servicebus.windows.net.'),
      sharedAccessKeyName: secret('Shared access policy name.'),
      sharedAccessKey: secret('Shared access key.'),
      hubName: str('Event hub name.'),
      metadata,
      filter,
    },
    {
      doc: 'Argo `AzureEventsHubEventSource` (type string `azureEventsHub`).',
      required: ['fqdn', 'hubName'],
    },
  ),
  rules: {
    AzureEventsHubEventSource: (v, path, { c }) => {
      if (set(v['sharedAccessKey']) !== set(v['sharedAccessKeyName']))
        c.error(path, 'sharedAccessKeyName and sharedAccessKey must be set together');
    },
  },
} satisfies TypeModel;
