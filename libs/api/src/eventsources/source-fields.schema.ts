/** Fields that many event source types share, with the description they carry there. */
import { Backoff, EventSourceFilter, TLSConfig, WebhookContext } from '../schema/common.schema.js';
import { bool, stringMap, withDoc } from '../schema/dsl.schema.js';

export const metadata = stringMap('Key/value pairs copied into the event data as `metadata`.');
export const filter = withDoc(EventSourceFilter, 'Drops events for which `expression` is false.');
export const jsonBody = bool('Embed the body as JSON instead of a base64 string.');
export const connectionBackoff = withDoc(Backoff, 'Retry schedule for connecting.');
export const tls = withDoc(TLSConfig, 'TLS settings.');
export const webhook = withDoc(WebhookContext, "HTTP endpoint that receives the provider's hooks.");
export const deleteHookOnFinish = bool('Delete the registered hook when the EventSource stops.');
