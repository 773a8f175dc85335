/** The `gerrit` event source type (Argo `GerritEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { arr, bool, int, obj, str, withDoc } from '../schema/dsl.schema.js';
import { BasicAuth } from '../schema/common.schema.js';
import { metadata, filter, webhook, deleteHookOnFinish } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const gerritSource = {
  schema: obj(
    'GerritEventSource',
    {
      webhook,
      hookName: str('Name of the hook.'),
      events: arr(str(), 'Event types, e.g. patchset-created.'),
      auth: withDoc(BasicAuth, 'Credentials of the REST API.'),
      gerritBaseURL: str('Base URL of Gerrit.'),
      deleteHookOnFinish,
      metadata,
      projects: arr(str(), 'Projects to hook.'),
      sslVerify: bool('Verify the Gerrit certificate.'),
      maxTries: int('Attempts to register the hook.', { minimum: 0 }),
      filter,
    },
    {
      doc: 'Argo `GerritEventSource` (type string `gerrit`).',
      required: ['webhook', 'events', 'gerritBaseURL', 'projects', 'auth'],
    },
  ),
} satisfies TypeModel;
