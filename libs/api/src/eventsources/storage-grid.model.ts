/** The `storageGrid` event source type (Argo `StorageGridEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { arr, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, tls, webhook } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const storageGridSource = {
  schema: obj(
    'StorageGridEventSource',
    {
      webhook,
      events: arr(str(), 'Notification types, e.g. s3:ObjectCreated:Put.'),
      filter: obj(
        'StorageGridFilter',
        { prefix: str('Object key prefix.'), suffix: str('Object key suffix.') },
        { doc: 'Argo `StorageGridFilter`.' },
      ),
      topicArn: str('Topic ARN.'),
      bucket: str('Bucket name.'),
      region: str('Region.'),
      authToken: secret('API token.'),
      apiURL: str('StorageGRID API URL.'),
      tls,
      metadata,
    },
    {
      doc: 'Argo `StorageGridEventSource` (type string `storagegrid`).',
      required: ['webhook', 'topicArn', 'bucket', 'apiURL', 'authToken'],
    },
  ),
} satisfies TypeModel;
