/** The `redis` event source type (Argo `RedisEventSource`): its schema fragment and its validation rules. */
import { arr, int, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, tls } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const redisSource = {
  schema: obj(
    'RedisEventSource',
    {
      hostAddress: str('host:port of Redis.'),
      password: secret('Password.'),
      namespace: str('Namespace of the password Secret.'),
      db: int('Database number.', { minimum: 0 }),
      channels: arr(str(), 'Channel patterns to subscribe to.'),
      tls,
      metadata,
      filter,
      jsonBody,
      username: str('User name (Redis 6 ACL).'),
    },
    {
      doc: 'Argo `RedisEventSource` (type string `redis`).',
      required: ['hostAddress', 'channels'],
    },
  ),
  rules: {
    RedisEventSource: (v, path, { c }) => {
      if (set(v['password']) && !set(v['namespace']))
        c.error(
          `${path}.namespace`,
          'is required with password (the namespace of the password Secret)',
        );
    },
  },
} satisfies TypeModel;
