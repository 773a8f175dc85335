import {
  ServiceBusClient,
  type ServiceBusMessage,
  type ServiceBusSender,
} from '@azure/service-bus';
import type { AzureServiceBusTrigger } from '@ganglion/api';
import type { EventsByDependency } from '@ganglion/core';
import { ClientCache } from '../common/client.cache.js';
import {
  applyTypeParameters,
  failure,
  payloadBytes,
  TemplateError,
} from '../common/params.helper.js';
import { resolveSecret } from '../common/secrets.helper.js';
import type { TriggerContext, TriggerPlugin } from '../trigger.js';

/** How long one send may take, retries of the client included (ms). */
const SEND_TIMEOUT_MS = 30_000;

/** Aborted after {@link SEND_TIMEOUT_MS} or when the service stops: the client retries within it. */
function sendSignal(ctx: TriggerContext): AbortSignal {
  const timeout = AbortSignal.timeout(SEND_TIMEOUT_MS);
  return ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
}

/** The queue or topic a template sends to (`queueName`, else `topicName`). */
function entityOf(t: AzureServiceBusTrigger): string {
  const entity = t.queueName || t.topicName;
  if (!entity) throw new TemplateError('queueName or topicName is required');
  return entity;
}

/**
 * The message Argo sends (`Body` = the payload's JSON), with the action id as `messageId`: a
 * queue or topic with duplicate detection drops a repeated action.
 */
export function serviceBusMessage(
  t: AzureServiceBusTrigger,
  events: EventsByDependency,
  actionId: string,
): ServiceBusMessage {
  return {
    body: payloadBytes(t.payload, events),
    messageId: actionId,
    contentType: 'application/json',
  };
}

interface Sender {
  client: ServiceBusClient;
  sender: ServiceBusSender;
}

/**
 * Argo's `azureServiceBus` trigger: sends the payload to `queueName` or `topicName` with the
 * official client (`connectionString` from a Secret; `subscriptionName` is not used to send, as
 * in Argo). Success means Service Bus accepted the message. The action id is the `messageId`
 * (duplicate detection). Senders are cached per connection string and entity. Not verified
 * against a Service Bus server: no server or emulator is available to the tests.
 */
export function createAzureServiceBusTrigger(): TriggerPlugin<AzureServiceBusTrigger> {
  const senders = new ClientCache<Sender>(async ({ client, sender }) => {
    await sender.close().catch(() => undefined);
    await client.close();
  });
  return {
    type: 'azureServiceBus',
    async execute(template, _trigger, events, ctx: TriggerContext) {
      const what = `send to Service Bus ${template.queueName || template.topicName || '(no entity)'}`;
      let key: unknown;
      try {
        const t = applyTypeParameters(template, events);
        const entity = entityOf(t);
        const message = serviceBusMessage(t, events, ctx.actionId);
        const connectionString = await resolveSecret(ctx, t.connectionString);
        key = { connectionString, entity };
        const { sender } = await senders.get(key, async () => {
          const client = new ServiceBusClient(connectionString, {
            retryOptions: { maxRetries: 2, timeoutInMs: SEND_TIMEOUT_MS / 3 },
          });
          return { client, sender: client.createSender(entity) };
        });
        await sender.sendMessages(message, { abortSignal: sendSignal(ctx) });
        return { ok: true, detail: `sent to ${entity} (messageId ${ctx.actionId})` };
      } catch (err) {
        if (key) await senders.evict(key);
        if (err instanceof TypeError || (err as Error).name === 'TypeError')
          return { ok: false, error: `${what}: ${(err as Error).message}`, retryable: false };
        return failure(err, what);
      }
    },
    close: () => senders.close(),
  };
}
