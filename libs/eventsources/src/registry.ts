import type { SourceTypeOfKind } from '@ganglion/api';
import { bitbucketSource } from './bitbucket/bitbucket.source.js';
import { bitbucketServerSource } from './bitbucketserver/bitbucketserver.source.js';
import { gerritSource } from './gerrit/gerrit.source.js';
import { githubSource } from './github/github.source.js';
import { gitlabSource } from './gitlab/gitlab.source.js';
import { slackSource } from './slack/slack.source.js';
import { snsSource } from './sns/sns.source.js';
import { storageGridSource } from './storagegrid/storagegrid.source.js';
import { stripeSource } from './stripe/stripe.source.js';
import { webhookSource } from './webhook/webhook.source.js';
import { CalendarRunner } from './calendar/calendar.runner.js';
import { FileRunner } from './file/file.runner.js';
import { ResourceRunner } from './resource/resource.runner.js';
import { SftpRunner } from './sftp/sftp.runner.js';
import { minioBrokerSource } from './minio/minio.source.js';
import { HdfsRunner } from './hdfs/hdfs.runner.js';
import type { OwnedHost, OwnedRunner } from './kit/owned-source.js';
import { BrokerEventsRunner } from './kit/broker-events.runner.js';
import { amqpSource } from './amqp/amqp.source.js';
import { kafkaSource } from './kafka/kafka.source.js';
import { natsSource } from './nats/nats.source.js';
import { redisSource } from './redis/redis.source.js';
import { redisStreamSource } from './redisstream/redis-stream.source.js';
import { mqttSource } from './mqtt/mqtt.source.js';
import { genericSource } from './generic/generic.source.js';
import { nsqSource } from './nsq/nsq.source.js';
import { emitterSource } from './emitter/emitter.source.js';
import { pulsarSource } from './pulsar/pulsar.source.js';
import { sqsSource } from './sqs/sqs.source.js';
import { mnsSource } from './mns/mns.source.js';
import { pubSubSource } from './pubsub/pubsub.source.js';
import { azureQueueStorageSource } from './azurequeuestorage/azure-queue-storage.source.js';
import { azureServiceBusSource } from './azureservicebus/azure-service-bus.source.js';
import { azureEventsHubSource } from './azureeventshub/azure-events-hub.source.js';

/**
 * Push (HTTP) source types, picked by spec key: exactly the `push` types of libs/api's
 * `SOURCE_KINDS` (a missing or extra one fails the build).
 */
export const pushSources = {
  webhook: webhookSource,
  github: githubSource,
  gitlab: gitlabSource,
  bitbucket: bitbucketSource,
  bitbucketserver: bitbucketServerSource,
  gerrit: gerritSource,
  slack: slackSource,
  stripe: stripeSource,
  sns: snsSource,
  storageGrid: storageGridSource,
} as const satisfies Record<SourceTypeOfKind<'push'>, unknown>;

export type PushSourceType = keyof typeof pushSources;

/**
 * Source types that run on exactly one replica at a time (assigned by group membership): exactly
 * the `owned` types of libs/api's `SOURCE_KINDS`.
 */
export const ownedSources = {
  calendar: (host: OwnedHost): OwnedRunner => new CalendarRunner(host),
  file: (host: OwnedHost): OwnedRunner => new FileRunner(host),
  resource: (host: OwnedHost): OwnedRunner => new ResourceRunner(host),
  redis: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, redisSource),
  mqtt: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, mqttSource),
  generic: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, genericSource),
  emitter: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, emitterSource),
  sftp: (host: OwnedHost): OwnedRunner => new SftpRunner(host),
  azureEventsHub: (host: OwnedHost): OwnedRunner =>
    new BrokerEventsRunner(host, azureEventsHubSource(host)),
  minio: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, minioBrokerSource),
  hdfs: (host: OwnedHost): OwnedRunner => new HdfsRunner(host),
} as const satisfies Record<SourceTypeOfKind<'owned'>, (host: OwnedHost) => OwnedRunner>;
export type OwnedSourceType = keyof typeof ownedSources;

/**
 * Broker source types whose broker splits the work among consumers: every replica runs every
 * event of the type (libs/eventsources/src/kit/broker-events.runner.ts); exactly the `group`
 * types of libs/api's `SOURCE_KINDS`.
 */
export const groupSources = {
  amqp: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, amqpSource),
  nsq: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, nsqSource),
  pulsar: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, pulsarSource),
  kafka: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, kafkaSource(host)),
  nats: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, natsSource),
  redisStream: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, redisStreamSource),
  sqs: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, sqsSource),
  pubSub: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, pubSubSource, 'pubSub'),
  azureQueueStorage: (host: OwnedHost): OwnedRunner =>
    new BrokerEventsRunner(host, azureQueueStorageSource),
  azureServiceBus: (host: OwnedHost): OwnedRunner =>
    new BrokerEventsRunner(host, azureServiceBusSource),
  mns: (host: OwnedHost): OwnedRunner => new BrokerEventsRunner(host, mnsSource),
} as const satisfies Record<SourceTypeOfKind<'group'>, (host: OwnedHost) => OwnedRunner>;
export type GroupSourceType = keyof typeof groupSources;
