import { createHash } from 'node:crypto';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import type { PubSubEventSource } from '@ganglion/api';
import type { BrokerContext, BrokerSession, BrokerSourceType } from '../kit/broker-source.js';
import { argoBody } from '../kit/broker-source.js';
import { DEFAULT_BROKER_WINDOW } from '../kit/broker-events.runner.js';

/** gRPC status codes the subscription set-up tells apart. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/**
 * Go's `time.Time.String()` of a UTC instant given as nanoseconds since the epoch (a protobuf
 * Timestamp): `2006-01-02 15:04:05.999999999 +0000 UTC`, trailing zeros of the fraction dropped.
 */
function goUtcString(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const iso = new Date(ms).toISOString();
  const frac = String(((nanos % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n)
    .padStart(9, '0')
    .replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ''} +0000 UTC`;
}

/** Argo's `PubSubEventData` without `metadata`: `{id, body, attributes, publishTime}`. */
function pubSubEventData(m: Message, jsonBody: boolean | undefined): Record<string, unknown> {
  const attributes = m.attributes && Object.keys(m.attributes).length ? m.attributes : null;
  return {
    id: m.id,
    body: argoBody(m.data, jsonBody),
    attributes,
    publishTime: goUtcString(BigInt(m.publishTime.getFullTimeString())),
  };
}

/** The subscription id of an event: `subscriptionID`, else `<event>-<hash of the configuration>`. */
function subscriptionIdOf(eventName: string, cfg: PubSubEventSource): string {
  if (cfg.subscriptionID) return cfg.subscriptionID;
  const hash = createHash('sha256')
    .update(eventName + JSON.stringify(cfg))
    .digest('hex')
    .slice(0, 12);
  return `${eventName}-${hash}`;
}

function grpcCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: number }).code : undefined;
}

/**
 * Finds or creates the event's subscription as Argo does: an existing one is used (its topic
 * must be `topic` when given); a missing one is created on `topic` (the topic too when missing);
 * without `topic` a missing subscription is an error.
 */
async function prepareSubscription(
  client: PubSub,
  ctx: BrokerContext<PubSubEventSource>,
  projectId: string,
): Promise<Subscription> {
  const cfg = ctx.config;
  const id = subscriptionIdOf(ctx.event.eventName, cfg);
  const subscription = client.subscription(id);
  const [exists] = await subscription.exists();
  if (!cfg.topic) {
    if (!exists)
      throw new Error(`subscription ${id} does not exist and no topic is given to create it`);
    return subscription;
  }
  const topicName = `projects/${cfg.topicProjectID || projectId}/topics/${cfg.topic}`;
  if (exists) {
    const [meta] = await subscription.getMetadata();
    if (meta.topic === '_deleted-topic_')
      throw new Error(`the topic of subscription ${id} was deleted`);
    if (meta.topic !== topicName)
      throw new Error(`subscription ${id} belongs to another topic, ${meta.topic}`);
    return subscription;
  }
  const topic = client.topic(topicName);
  try {
    await topic.createSubscription(id);
  } catch (err) {
    if (grpcCode(err) === ALREADY_EXISTS) return subscription;
    if (grpcCode(err) !== NOT_FOUND) throw err;
    await topic.create().catch((e: unknown) => {
      if (grpcCode(e) !== ALREADY_EXISTS) throw e;
    });
    await topic.createSubscription(id).catch((e: unknown) => {
      if (grpcCode(e) !== ALREADY_EXISTS) throw e;
    });
  }
  ctx.logger.info('subscription created', { subscription: id, topic: topicName });
  return client.subscription(id);
}

/**
 * Argo's `pubSub` event source: a streaming pull on the event's subscription (found, or created
 * with its topic, as in Argo), each message published as `{id, body, attributes, publishTime,
 * metadata}` with the message id as the natural id, and acknowledged only after the bus
 * acknowledged it (the client keeps extending the ack deadline meanwhile). The client's flow
 * control holds at most the kit's window of unacknowledged messages. Every replica pulls: the
 * subscription splits the messages. The emulator (`PUBSUB_EMULATOR_HOST`) is honoured by the
 * client library, as in Argo.
 */
export const pubSubSource: BrokerSourceType<PubSubEventSource> = {
  type: 'pubsub',
  async connect(ctx): Promise<BrokerSession> {
    const cfg = ctx.config;
    const credentialsJson = await ctx.optionalSecret(cfg.credentialSecret);
    const client = new PubSub({
      ...(cfg.projectID ? { projectId: cfg.projectID } : {}),
      ...(credentialsJson ? { credentials: JSON.parse(credentialsJson) as object } : {}),
    });
    let subscription: Subscription;
    try {
      const projectId = cfg.projectID || (await client.auth.getProjectId());
      subscription = await prepareSubscription(client, ctx, projectId);
    } catch (err) {
      await client.close();
      throw err;
    }
    subscription.setOptions({
      flowControl: {
        maxMessages: DEFAULT_BROKER_WINDOW.messages,
        maxBytes: DEFAULT_BROKER_WINDOW.bytes,
        allowExcessMessages: false,
      },
    });
    let closing = false;
    subscription.on('message', (m: Message) => {
      if (closing) return;
      void ctx.deliver({
        naturalId: m.id,
        data: pubSubEventData(m, cfg.jsonBody),
        bytes: m.length + 256,
        ack: () => {
          m.ack();
        },
      });
    });
    subscription.on('error', (err: unknown) => ctx.fail(err));
    return {
      async close(): Promise<void> {
        closing = true;
        subscription.removeAllListeners('message');
        await subscription.close().catch(() => undefined);
        await client.close();
      },
    };
  },
};
