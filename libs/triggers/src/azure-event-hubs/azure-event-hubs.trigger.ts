import { EventHubProducerClient, type EventData } from '@azure/event-hubs';
import type { AzureEventHubsTrigger } from '@ganglion/api';
import type { EventsByDependency } from '@ganglion/core';
import { ClientCache } from '../common/client.cache.js';
import { applyTypeParameters, failure, payloadBytes } from '../common/params.helper.js';
import { resolveSecret } from '../common/secrets.helper.js';
import type { TriggerContext, TriggerPlugin } from '../trigger.js';

/** How long one send may take, retries of the client included (ms). */
const SEND_TIMEOUT_MS = 30_000;

/** Aborted after {@link SEND_TIMEOUT_MS} or when the service stops: the client retries within it. */
function sendSignal(ctx: TriggerContext): AbortSignal {
  const timeout = AbortSignal.timeout(SEND_TIMEOUT_MS);
  return ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
}

/** The connection string Argo builds from `fqdn`, `hubName` and the shared access key. */
export function eventHubsConnectionString(
  fqdn: string,
  hubName: string,
  keyName: string,
  key: string,
): string {
  return `Endpoint=sb://${fqdn}/;SharedAccessKeyName=${keyName};SharedAccessKey=${key};EntityPath=${hubName}`;
}

/**
 * The event Argo sends (`Body` = the payload's JSON). Event Hubs has no duplicate detection: the
 * action id travels as the `messageId` and the `ganglion-action-id` property, so consumers can
 * drop a repeated action.
 */
export function eventHubsEvent(
  t: AzureEventHubsTrigger,
  events: EventsByDependency,
  actionId: string,
): EventData {
  return {
    body: payloadBytes(t.payload, events),
    messageId: actionId,
    contentType: 'application/json',
    properties: { 'ganglion-action-id': actionId },
  };
}

/**
 * Argo's `azureEventHubs` trigger: sends the payload as one event to `hubName` at `fqdn` with
 * the official client (`sharedAccessKeyName`/`sharedAccessKey` from Secrets). Success means
 * Event Hubs accepted the batch. Producers are cached per connection. Not verified against an
 * Event Hubs server: no server or emulator is available to the tests.
 */
export function createAzureEventHubsTrigger(): TriggerPlugin<AzureEventHubsTrigger> {
  const producers = new ClientCache<EventHubProducerClient>((p) => p.close());
  return {
    type: 'azureEventHubs',
    async execute(template, _trigger, events, ctx: TriggerContext) {
      const what = `send to Event Hubs ${template.fqdn}/${template.hubName}`;
      let key: unknown;
      try {
        const t = applyTypeParameters(template, events);
        const event = eventHubsEvent(t, events, ctx.actionId);
        const [keyName, sharedKey] = await Promise.all([
          resolveSecret(ctx, t.sharedAccessKeyName),
          resolveSecret(ctx, t.sharedAccessKey),
        ]);
        key = eventHubsConnectionString(t.fqdn, t.hubName, keyName, sharedKey);
        const connection = key as string;
        const producer = await producers.get(
          key,
          async () =>
            new EventHubProducerClient(connection, {
              retryOptions: { maxRetries: 2, timeoutInMs: SEND_TIMEOUT_MS / 3 },
            }),
        );
        await producer.sendBatch([event], { abortSignal: sendSignal(ctx) });
        return { ok: true, detail: `sent to ${t.hubName}` };
      } catch (err) {
        if (key) await producers.evict(key);
        return failure(err, what);
      }
    },
    close: () => producers.close(),
  };
}
