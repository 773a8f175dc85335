/** The `bitbucket` event source type (Argo `BitbucketEventSource`): its schema fragment and its validation rules. */
import { arr, deprecated, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, webhook, deleteHookOnFinish } from './source-fields.schema.js';
import { isObj } from '../schema-walk.js';
import { set } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const bitbucketSource = {
  schema: obj(
    'BitbucketEventSource',
    {
      deleteHookOnFinish,
      metadata,
      webhook,
      auth: obj(
        'BitbucketAuth',
        {
          basic: obj(
            'BitbucketBasicAuth',
            { username: secret('User name.'), password: secret('App password.') },
            { required: ['username', 'password'] },
          ),
          oauthToken: secret('OAuth token.'),
        },
        {
          doc: 'Argo `BitbucketAuth`: basic or oauthToken.',
          atLeastOne: [['basic', 'oauthToken']],
        },
      ),
      events: arr(str(), 'Event types, e.g. repo:push.'),
      owner: deprecated(str('Repository owner.'), 'use repositories[].owner'),
      projectKey: deprecated(str('Project key.'), 'use repositories'),
      repositorySlug: deprecated(str('Repository slug.'), 'use repositories[].repositorySlug'),
      repositories: arr(
        obj(
          'BitbucketRepository',
          { owner: str('Owner.'), repositorySlug: str('Repository slug.') },
          { required: ['owner', 'repositorySlug'] },
        ),
        'Repositories to hook.',
      ),
      filter,
    },
    {
      doc: 'Argo `BitbucketEventSource` (Bitbucket Cloud, type string `bitbucket`).',
      required: ['webhook'],
    },
  ),
  rules: {
    BitbucketEventSource: (v, path, { c }) => {
      if (!set(v['repositories']) && !(set(v['owner']) && set(v['repositorySlug'])))
        c.error(`${path}.repositories`, 'at least one repository is required');
      const hookUrl = isObj(v['webhook']) ? v['webhook']['url'] : undefined;
      if (set(v['auth']) && set(hookUrl) && !set(v['events']))
        c.error(
          `${path}.events`,
          'is required to create the Bitbucket hook (auth and webhook.url are set)',
        );
    },
  },
} satisfies TypeModel;
