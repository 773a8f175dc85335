/** The `email` trigger type (Argo `EmailTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { arr, int, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { parameters } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const emailTrigger = {
  schema: obj(
    'EmailTrigger',
    {
      parameters,
      username: str('SMTP user name.'),
      smtpPassword: secret('SMTP password.'),
      host: str('SMTP host.'),
      port: int('SMTP port.', { minimum: 0, maximum: 65535 }),
      to: arr(str(), 'Recipients.'),
      from: str('Sender.'),
      subject: str('Subject.'),
      body: str('Body.'),
    },
    { doc: 'Argo `EmailTrigger`: send an email over SMTP.', required: ['host'] },
  ),
} satisfies TypeModel;
