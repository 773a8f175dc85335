/** The `pulsar` event source type (Argo `PulsarEventSource`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { arr, bool, enumOf, obj, str, stringMap } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, connectionBackoff, tls } from './source-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const pulsarSource = {
  schema: obj(
    'PulsarEventSource',
    {
      topics: arr(str(), 'Topics.'),
      type: enumOf(['exclusive', 'shared'], 'Subscription type; exclusive by default.'),
      url: str('Pulsar URL.'),
      tlsTrustCertsSecret: secret('Trusted CA certificates.'),
      tlsAllowInsecureConnection: bool('Allow an insecure TLS connection.'),
      tlsValidateHostname: bool('Validate the server host name.'),
      tls,
      connectionBackoff,
      jsonBody,
      metadata,
      authTokenSecret: secret('Authentication token.'),
      filter,
      authAthenzParams: stringMap('Athenz parameters.'),
      authAthenzSecret: secret('Athenz private key.'),
    },
    { doc: 'Argo `PulsarEventSource` (type string `pulsar`).', required: ['topics', 'url'] },
  ),
} satisfies TypeModel;
