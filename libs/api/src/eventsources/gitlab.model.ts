/** The `gitlab` event source type (Argo `GitlabEventSource`): its schema fragment and its validation rules. */
import { arr, bool, deprecated, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, webhook, deleteHookOnFinish } from './source-fields.schema.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const gitlabSource = {
  schema: obj(
    'GitlabEventSource',
    {
      webhook,
      projectID: deprecated(str('Project id.'), 'use projects'),
      events: arr(str(), 'Event types, e.g. PushEvents.'),
      accessToken: secret('Token used to register the hook.'),
      enableSSLVerification: bool('Verify TLS when GitLab calls the hook.'),
      gitlabBaseURL: str('Base URL of GitLab.'),
      deleteHookOnFinish,
      metadata,
      projects: arr(str(), 'Project ids or paths.'),
      secretToken: secret('Compared with X-Gitlab-Token.'),
      filter,
      groups: arr(str(), 'Group ids or paths.'),
    },
    {
      doc: 'Argo `GitlabEventSource` (type string `gitlab`).',
      required: ['webhook', 'events', 'gitlabBaseURL', 'accessToken'],
    },
  ),
  rules: {
    GitlabEventSource: (v, path, { c }) => {
      if (!set(v['projects']) && !set(v['groups']) && !set(v['projectID']))
        c.error(path, 'either projects or groups is required');
    },
  },
} satisfies TypeModel;
