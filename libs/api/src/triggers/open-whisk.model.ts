/** The `openWhisk` trigger type (Argo `OpenWhiskTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { parameters, payload } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const openWhiskTrigger = {
  schema: obj(
    'OpenWhiskTrigger',
    {
      host: str('OpenWhisk host.'),
      version: str('API version; v1 by default.'),
      namespace: str('Namespace; "_" by default.'),
      authToken: secret('Authentication token.'),
      actionName: str('Action to invoke.'),
      payload,
      parameters,
    },
    {
      doc: 'Argo `OpenWhiskTrigger`: invoke an OpenWhisk action.',
      required: ['host', 'actionName', 'payload'],
    },
  ),
} satisfies TypeModel;
