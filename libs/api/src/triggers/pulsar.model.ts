/** The `pulsar` trigger type (Argo `PulsarTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { bool, obj, str, stringMap, withDoc } from '../schema/dsl.schema.js';
import { Backoff, secret } from '../schema/common.schema.js';
import { parameters, payload, tls } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const pulsarTrigger = {
  schema: obj(
    'PulsarTrigger',
    {
      url: str('Pulsar URL.'),
      topic: str('Topic.'),
      parameters,
      payload,
      tlsTrustCertsSecret: secret('Trusted CA certificates.'),
      tlsAllowInsecureConnection: bool('Allow an insecure TLS connection.'),
      tlsValidateHostname: bool('Validate the server host name.'),
      tls,
      authTokenSecret: secret('Authentication token.'),
      connectionBackoff: withDoc(Backoff, 'Retry schedule for connecting.'),
      authAthenzParams: stringMap('Athenz parameters.'),
      authAthenzSecret: secret('Athenz private key.'),
    },
    { doc: 'Argo `PulsarTrigger`: produce to Pulsar.', required: ['url', 'topic'] },
  ),
} satisfies TypeModel;
