/** The `redisStream` event source type (Argo `RedisStreamEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { arr, int, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, tls } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const redisStreamSource = {
  schema: obj(
    'RedisStreamEventSource',
    {
      hostAddress: str('host:port of Redis.'),
      password: secret('Password.'),
      db: int('Database number.', { minimum: 0 }),
      streams: arr(str(), 'Stream keys.'),
      maxMsgCountPerRead: int('Messages per XREADGROUP.', { minimum: 0 }),
      consumerGroup: str('Consumer group, created at "$" when missing.'),
      tls,
      metadata,
      filter,
      username: str('User name (Redis 6 ACL).'),
    },
    {
      doc: 'Argo `RedisStreamEventSource` (type string `redisStream`).',
      required: ['hostAddress', 'streams'],
    },
  ),
} satisfies TypeModel;
