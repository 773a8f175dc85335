export { createKafka, parseBrokers, checkBusAccess } from './client/client.js';
export {
  installationSecurity,
  SASL_MECHANISMS,
  type SaslMechanism,
  type InstallationSecuritySettings,
} from './client/security.js';
export { BusClients, BusProducers, clusterKey } from './client/bus-clients.js';
export {
  busTopics,
  busTopicConfigs,
  attemptsTopicConfig,
  resourcesTopicConfig,
  busTopicPolicy,
  DEFAULT_TOPIC_POLICY,
  type TopicPolicy,
  ensureTopics,
  DEFAULT_RESOURCES_TOPIC,
  type BusTopics,
} from './client/topics.js';
export {
  encodeCloudEvent,
  decodeCloudEvent,
  eventData,
  headerMap,
  type EventRecord,
} from './cloudevent-binding.js';
export {
  BatchingProducer,
  BusUnavailableError,
  BusSaturatedError,
  RecordTooLargeError,
  type OutRecord,
  type BatchingProducerOptions,
} from './producer/batching-producer.js';
export { ResourceStore } from './readers/resource-store.js';
export {
  RouteStatusReporter,
  RouteStatusView,
  routeStatusTopic,
  routeStatusTopicConfig,
  type RouteState,
} from './readers/route-status.js';
export type { ConsumedBatch } from './loops/consume-loop.js';
export {
  ExactlyOnceLoop,
  type PartitionProcessor,
  type PartitionContext,
  type TransactionScope,
} from './loops/exactly-once-loop.js';
export { TopicReader, ChangelogMirror, BARRIER_KEY } from './readers/topic-reader.js';
export { CloudEvent } from 'cloudevents';
export type { Kafka, KafkaMessage, Admin } from 'kafkajs';
export { GroupOwnership } from './loops/group-ownership.js';
export { TransactionalState } from './transactions/transactional-state.js';
export { AtomicWriter } from './transactions/atomic-writer.js';
export { PipelinedLoop } from './loops/pipelined-loop.js';
export { SerialReconcile } from './loops/serial-reconcile.js';
export { ExternalProducer, type ExternalKafkaSettings } from './producer/external-producer.js';
export { ExternalConsumer, type ExternalMessage } from './loops/external-consumer.js';
export { ConsumerLagMonitor, type LagSample } from './readers/lag-monitor.js';
export { consumerActivity } from './loops/consumer-activity.js';
