/** The `nats` trigger type (Argo `NATSTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { obj, str } from '../schema/dsl.schema.js';
import { NATSAuth } from '../schema/common.schema.js';
import { parameters, payload, tls } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const natsTrigger = {
  schema: obj(
    'NATSTrigger',
    { url: str('NATS URL.'), subject: str('Subject.'), payload, parameters, tls, auth: NATSAuth },
    { doc: 'Argo `NATSTrigger`: publish to NATS.', required: ['url', 'subject', 'payload'] },
  ),
} satisfies TypeModel;
