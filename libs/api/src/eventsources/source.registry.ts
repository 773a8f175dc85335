/**
 * Every event source type Argo knows, by its key (Argo `EventSourceSpec` field), with its model: the schema
 * fragment and the validation rules in ./<type>.model.ts. This is the one list of the types:
 * `EVENT_SOURCE_TYPES` and `EventSourceType` (../types.ts) are its keys, the schema is assembled from it in this
 * order (the generated files follow it) and validation dispatches each type's rules through it.
 * Adding a type is adding its model file and its line here (its runtime, in libs/eventsources,
 * is listed in `SUPPORTED_EVENT_SOURCE_TYPES` when it exists).
 */
import type { TypeModel } from '../type-model.js';
import { amqpSource } from './amqp.model.js';
import { azureEventsHubSource } from './azure-events-hub.model.js';
import { azureQueueStorageSource } from './azure-queue-storage.model.js';
import { azureServiceBusSource } from './azure-service-bus.model.js';
import { bitbucketSource } from './bitbucket.model.js';
import { bitbucketserverSource } from './bitbucketserver.model.js';
import { calendarSource } from './calendar.model.js';
import { emitterSource } from './emitter.model.js';
import { fileSource } from './file.model.js';
import { genericSource } from './generic.model.js';
import { gerritSource } from './gerrit.model.js';
import { githubSource } from './github.model.js';
import { gitlabSource } from './gitlab.model.js';
import { hdfsSource } from './hdfs.model.js';
import { kafkaSource } from './kafka.model.js';
import { minioSource } from './minio.model.js';
import { mnsSource } from './mns.model.js';
import { mqttSource } from './mqtt.model.js';
import { natsSource } from './nats.model.js';
import { nsqSource } from './nsq.model.js';
import { pubSubSource } from './pub-sub.model.js';
import { pulsarSource } from './pulsar.model.js';
import { redisSource } from './redis.model.js';
import { redisStreamSource } from './redis-stream.model.js';
import { resourceSource } from './resource.model.js';
import { sftpSource } from './sftp.model.js';
import { slackSource } from './slack.model.js';
import { snsSource } from './sns.model.js';
import { sqsSource } from './sqs.model.js';
import { storageGridSource } from './storage-grid.model.js';
import { stripeSource } from './stripe.model.js';
import { webhookSource } from './webhook.model.js';

export const sourceModels = {
  amqp: amqpSource,
  azureEventsHub: azureEventsHubSource,
  azureQueueStorage: azureQueueStorageSource,
  azureServiceBus: azureServiceBusSource,
  bitbucket: bitbucketSource,
  bitbucketserver: bitbucketserverSource,
  calendar: calendarSource,
  emitter: emitterSource,
  file: fileSource,
  generic: genericSource,
  gerrit: gerritSource,
  github: githubSource,
  gitlab: gitlabSource,
  hdfs: hdfsSource,
  kafka: kafkaSource,
  minio: minioSource,
  mns: mnsSource,
  mqtt: mqttSource,
  nats: natsSource,
  nsq: nsqSource,
  pubSub: pubSubSource,
  pulsar: pulsarSource,
  redis: redisSource,
  redisStream: redisStreamSource,
  resource: resourceSource,
  sftp: sftpSource,
  slack: slackSource,
  sns: snsSource,
  sqs: sqsSource,
  storageGrid: storageGridSource,
  stripe: stripeSource,
  webhook: webhookSource,
} as const satisfies Record<string, TypeModel>;
