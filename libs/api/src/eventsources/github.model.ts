/** The `github` event source type (Argo `GithubEventSource`): its schema fragment and its validation rules. */
import { arr, bool, deprecated, enumOf, int, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, webhook, deleteHookOnFinish } from './source-fields.schema.js';
import { isObj } from '../schema-walk.js';
import { set, onlyOne } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const githubSource = {
  schema: obj(
    'GithubEventSource',
    {
      id: deprecated(int('Hook id.'), 'it is no longer used'),
      webhook,
      owner: deprecated(str('Repository owner.'), 'use repositories[].owner'),
      repository: deprecated(str('Repository name.'), 'use repositories[].names'),
      events: arr(str(), 'Event types, e.g. push, pull_request; "*" for all.'),
      apiToken: secret('Token used to register the hook.'),
      webhookSecret: secret('HMAC secret checked against X-Hub-Signature(-256).'),
      insecure: bool('Allow an insecure hook URL.'),
      active: bool('Whether the hook is active.'),
      contentType: enumOf(['json', 'form'], 'Hook content type.'),
      githubBaseURL: str('Base URL of GitHub Enterprise.'),
      githubUploadURL: str('Upload URL of GitHub Enterprise.'),
      deleteHookOnFinish,
      metadata,
      repositories: arr(
        obj(
          'OwnedRepositories',
          { owner: str('Owner.'), names: arr(str(), 'Repository names.') },
          { required: ['owner', 'names'] },
        ),
        'Repositories to hook.',
      ),
      organizations: arr(str(), 'Organizations to hook.'),
      githubApp: obj(
        'GithubAppCreds',
        {
          privateKey: secret('App private key.'),
          appID: int('App id.'),
          installationID: int('Installation id.'),
        },
        { doc: 'Argo `GithubAppCreds`.', required: ['privateKey', 'appID', 'installationID'] },
      ),
      filter,
    },
    { doc: 'Argo `GithubEventSource` (type string `github`).', required: ['webhook'] },
  ),
  rules: {
    GithubEventSource: (v, path, { c }) => {
      if (
        !set(v['repositories']) &&
        !set(v['organizations']) &&
        !(set(v['owner']) && set(v['repository']))
      )
        c.error(path, 'either repositories or organizations is required');
      onlyOne(v, 'repositories', 'organizations', path, c);
      onlyOne(v, 'apiToken', 'githubApp', path, c);
      const hookUrl = isObj(v['webhook']) ? v['webhook']['url'] : undefined;
      if ((set(v['apiToken']) || set(v['githubApp'])) && set(hookUrl) && !set(v['events']))
        c.error(
          `${path}.events`,
          'is required to create the GitHub hook (apiToken or githubApp and webhook.url are set)',
        );
      if (set(v['githubBaseURL']) !== set(v['githubUploadURL']))
        c.error(path, 'githubBaseURL and githubUploadURL must be set together');
    },
  },
} satisfies TypeModel;
