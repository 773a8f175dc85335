import type { SourceTypeOfKind } from '@ganglion/api';
import type { OwnedHost, OwnedRunner } from './kit/owned-source.js';
import type { PushSource } from './kit/push-source.js';
import type { BrokerSourceType, CommonBrokerConfig } from './kit/broker-source.js';
import { BrokerEventsRunner } from './kit/broker-events.runner.js';

/*
 * Every entry is a loader: a service imports only its own type's runtime (and that runtime's
 * client library) when it starts, not the other types' (the AWS, Azure, Google, Pulsar, NATS...
 * clients together cost ~170 MiB RSS in every ingress process; docs/benchmarks.md "Idle cost").
 */

/** The factory of a runner over a broker source. */
const brokerEvents =
  <C extends CommonBrokerConfig>(source: BrokerSourceType<C>, specKey?: string) =>
  (host: OwnedHost): OwnedRunner =>
    new BrokerEventsRunner(host, source, specKey);

/**
 * Push (HTTP) source types, picked by spec key: exactly the `push` types of libs/api's
 * `SOURCE_KINDS` (a missing or extra one fails the build).
 */
export const pushSources = {
  webhook: async () => (await import('./webhook/webhook.source.js')).webhookSource,
  github: async () => (await import('./github/github.source.js')).githubSource,
  gitlab: async () => (await import('./gitlab/gitlab.source.js')).gitlabSource,
  bitbucket: async () => (await import('./bitbucket/bitbucket.source.js')).bitbucketSource,
  bitbucketserver: async () =>
    (await import('./bitbucketserver/bitbucketserver.source.js')).bitbucketServerSource,
  gerrit: async () => (await import('./gerrit/gerrit.source.js')).gerritSource,
  slack: async () => (await import('./slack/slack.source.js')).slackSource,
  stripe: async () => (await import('./stripe/stripe.source.js')).stripeSource,
  sns: async () => (await import('./sns/sns.source.js')).snsSource,
  storageGrid: async () => (await import('./storagegrid/storagegrid.source.js')).storageGridSource,
} as const satisfies Record<SourceTypeOfKind<'push'>, () => Promise<PushSource<never>>>;

export type PushSourceType = keyof typeof pushSources;

/** A loader of an owned or group type's runner factory. */
type RunnerLoader = () => Promise<(host: OwnedHost) => OwnedRunner>;

/**
 * Source types that run on exactly one replica at a time (assigned by group membership): exactly
 * the `owned` types of libs/api's `SOURCE_KINDS`.
 */
export const ownedSources = {
  calendar: async () => {
    const { CalendarRunner } = await import('./calendar/calendar.runner.js');
    return (host) => new CalendarRunner(host);
  },
  file: async () => {
    const { FileRunner } = await import('./file/file.runner.js');
    return (host) => new FileRunner(host);
  },
  resource: async () => {
    const { ResourceRunner } = await import('./resource/resource.runner.js');
    return (host) => new ResourceRunner(host);
  },
  redis: async () => brokerEvents((await import('./redis/redis.source.js')).redisSource),
  mqtt: async () => brokerEvents((await import('./mqtt/mqtt.source.js')).mqttSource),
  generic: async () => brokerEvents((await import('./generic/generic.source.js')).genericSource),
  emitter: async () => brokerEvents((await import('./emitter/emitter.source.js')).emitterSource),
  sftp: async () => {
    const { SftpRunner } = await import('./sftp/sftp.runner.js');
    return (host) => new SftpRunner(host);
  },
  azureEventsHub: async () => {
    const { azureEventsHubSource } = await import('./azureeventshub/azure-events-hub.source.js');
    return (host) => new BrokerEventsRunner(host, azureEventsHubSource(host));
  },
  minio: async () => brokerEvents((await import('./minio/minio.source.js')).minioBrokerSource),
  hdfs: async () => {
    const { HdfsRunner } = await import('./hdfs/hdfs.runner.js');
    return (host) => new HdfsRunner(host);
  },
} as const satisfies Record<SourceTypeOfKind<'owned'>, RunnerLoader>;
export type OwnedSourceType = keyof typeof ownedSources;

/**
 * Broker source types whose broker splits the work among consumers: every replica runs every
 * event of the type (libs/eventsources/src/kit/broker-events.runner.ts); exactly the `group`
 * types of libs/api's `SOURCE_KINDS`.
 */
export const groupSources = {
  amqp: async () => brokerEvents((await import('./amqp/amqp.source.js')).amqpSource),
  nsq: async () => brokerEvents((await import('./nsq/nsq.source.js')).nsqSource),
  pulsar: async () => brokerEvents((await import('./pulsar/pulsar.source.js')).pulsarSource),
  kafka: async () => {
    const { kafkaSource } = await import('./kafka/kafka.source.js');
    return (host) => new BrokerEventsRunner(host, kafkaSource(host));
  },
  nats: async () => brokerEvents((await import('./nats/nats.source.js')).natsSource),
  redisStream: async () =>
    brokerEvents((await import('./redisstream/redis-stream.source.js')).redisStreamSource),
  sqs: async () => brokerEvents((await import('./sqs/sqs.source.js')).sqsSource),
  pubSub: async () =>
    brokerEvents((await import('./pubsub/pubsub.source.js')).pubSubSource, 'pubSub'),
  azureQueueStorage: async () =>
    brokerEvents(
      (await import('./azurequeuestorage/azure-queue-storage.source.js')).azureQueueStorageSource,
    ),
  azureServiceBus: async () =>
    brokerEvents(
      (await import('./azureservicebus/azure-service-bus.source.js')).azureServiceBusSource,
    ),
  mns: async () => brokerEvents((await import('./mns/mns.source.js')).mnsSource),
} as const satisfies Record<SourceTypeOfKind<'group'>, RunnerLoader>;
export type GroupSourceType = keyof typeof groupSources;
