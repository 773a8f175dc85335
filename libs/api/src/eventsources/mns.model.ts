/** The `mns` event source type (Argo `MNSEventSource`): its schema fragment and its validation rules. */
import { int, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const mnsSource = {
  schema: obj(
    'MNSEventSource',
    {
      accessKey: secret('Access key.'),
      secretKey: secret('Secret key.'),
      queue: str('Queue name.'),
      waitTimeSeconds: int('Long-poll wait time.', { minimum: 0 }),
      endpoint: str('MNS endpoint.'),
      jsonBody,
      metadata,
      filter,
    },
    {
      doc: 'Argo `MNSEventSource` (Alibaba Cloud MNS, type string `mns`).',
      required: ['queue', 'endpoint'],
    },
  ),
  rules: {
    MNSEventSource: (v, path, { c }) => {
      // Argo's listener reads both keys and fails without them.
      for (const key of ['accessKey', 'secretKey'])
        if (!set(v[key])) c.error(`${path}.${key}`, 'is required (a Secret key selector)');
      const endpoint = v['endpoint'];
      if (typeof endpoint === 'string' && endpoint !== '') {
        let url: URL | undefined;
        try {
          url = new URL(endpoint);
        } catch {
          url = undefined;
        }
        if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
          c.error(
            `${path}.endpoint`,
            `must be an http:// or https:// URL such as https://<account id>.mns.<region>.aliyuncs.com, got "${endpoint}"`,
          );
      }
      const wait = v['waitTimeSeconds'];
      if (typeof wait === 'number' && wait > 30)
        c.error(
          `${path}.waitTimeSeconds`,
          `must be at most 30 (MNS's long-poll limit), got ${wait}`,
        );
    },
  },
} satisfies TypeModel;
