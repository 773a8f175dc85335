/** The `bitbucketserver` event source type (Argo `BitbucketServerEventSource`): its schema fragment and its validation rules. */
import { arr, bool, deprecated, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, tls, webhook, deleteHookOnFinish } from './source-fields.schema.js';
import { isObj } from '../schema-walk.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const bitbucketserverSource = {
  schema: obj(
    'BitbucketServerEventSource',
    {
      webhook,
      projectKey: deprecated(str('Project key.'), 'use repositories[].projectKey'),
      repositorySlug: deprecated(str('Repository slug.'), 'use repositories[].repositorySlug'),
      projects: arr(str(), 'Project keys to hook.'),
      repositories: arr(
        obj(
          'BitbucketServerRepository',
          { projectKey: str('Project key.'), repositorySlug: str('Repository slug.') },
          { required: ['projectKey', 'repositorySlug'] },
        ),
        'Repositories to hook.',
      ),
      events: arr(str(), 'Event types, e.g. repo:refs_changed.'),
      skipBranchRefsChangedOnOpenPR: bool(
        'Skip repo:refs_changed for branches with an open pull request.',
      ),
      oneEventPerChange: bool('Split repo:refs_changed into one event per change.'),
      accessToken: secret('API access token.'),
      webhookSecret: secret('HMAC secret of the hook.'),
      bitbucketserverBaseURL: str(
        'Base URL of the REST API, e.g. https://bitbucket.example.com/rest.',
      ),
      deleteHookOnFinish,
      metadata,
      filter,
      tls,
      checkInterval: str('Interval of the hook re-check, a Go duration.', { format: 'duration' }),
    },
    {
      doc: 'Argo `BitbucketServerEventSource` (type string `bitbucketserver`).',
      required: ['webhook', 'bitbucketserverBaseURL'],
    },
  ),
  rules: {
    BitbucketServerEventSource: (v, path, { c }) => {
      if (
        !set(v['projects']) &&
        !set(v['repositories']) &&
        !(set(v['projectKey']) && set(v['repositorySlug']))
      )
        c.error(path, 'either projects or repositories is required');
      const hookUrl = isObj(v['webhook']) ? v['webhook']['url'] : undefined;
      if (set(v['accessToken']) && set(hookUrl) && !set(v['events']))
        c.error(
          `${path}.events`,
          'is required to create the Bitbucket Server hook (accessToken and webhook.url are set)',
        );
    },
  },
} satisfies TypeModel;
