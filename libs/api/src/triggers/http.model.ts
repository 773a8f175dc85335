/** The `http` trigger type (Argo `HTTPTrigger`): its schema fragment and its validation rules. */
import { arr, enumOf, int, obj, str, stringMap, withDoc } from '../schema/dsl.schema.js';
import { BasicAuth } from '../schema/common.schema.js';
import {
  parameters,
  payload,
  tls,
  SecureHeader,
  TriggerParameter,
} from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const httpTrigger = {
  schema: obj(
    'HTTPTrigger',
    {
      url: str('URL to call.'),
      payload,
      tls,
      method: enumOf(['GET', 'DELETE', 'PATCH', 'POST', 'PUT'], 'HTTP method; POST by default.'),
      parameters,
      timeout: int('Request timeout in seconds; 60 by default.', { minimum: 1 }),
      basicAuth: withDoc(BasicAuth, 'Basic authentication.'),
      headers: stringMap('Request headers.'),
      secureHeaders: arr(SecureHeader, 'Headers read from Secrets or ConfigMaps.'),
      dynamicHeaders: arr(TriggerParameter, 'Headers from event data; dest is the header name.'),
    },
    { doc: 'Argo `HTTPTrigger`: an HTTP request.', required: ['url'] },
  ),
  rules: {
    HTTPTrigger: (v, path, { c }) => {
      const url = v['url'];
      if (typeof url === 'string' && !/^https?:\/\/\S+$/.test(url))
        c.error(`${path}.url`, `"${url}" is not an http(s) URL`);
    },
  },
} satisfies TypeModel;
