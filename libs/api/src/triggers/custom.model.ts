/** The `custom` trigger type (Argo `CustomTrigger`): its schema fragment and its validation rules. */
import { bool, obj, str, stringMap } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { parameters, payload } from './trigger-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const customTrigger = {
  schema: obj(
    'CustomTrigger',
    {
      serverURL: str('Address of the gRPC trigger server.'),
      secure: bool('Connect with TLS.'),
      certSecret: secret('CA certificate (with secure).'),
      serverNameOverride: str('TLS server name.'),
      spec: stringMap('Opaque specification sent to the server.'),
      parameters,
      payload,
    },
    { doc: 'Argo `CustomTrigger`: a gRPC trigger plug-in.', required: ['serverURL', 'spec'] },
  ),
  rules: {
    CustomTrigger: (v, path, { c }) => {
      if (v['secure'] === true && !set(v['certSecret']))
        c.error(`${path}.certSecret`, 'is required when secure is true');
    },
  },
} satisfies TypeModel;
