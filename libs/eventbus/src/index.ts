export { createKafka, parseBrokers, type BusConnection } from './client.js';
export { busTopics, busTopicConfigs, resourcesTopicConfig, ensureTopics, DEFAULT_RESOURCES_TOPIC, type BusTopics, type TopicLayout } from './topics.js';
export { encodeCloudEvent, decodeCloudEvent, eventData, headerMap, type EventRecord } from './cloudevent-binding.js';
export { BatchingProducer, BusUnavailableError, BusSaturatedError, type OutRecord, type BatchingProducerOptions } from './batching-producer.js';
export { ResourceStore, type ResourceChange } from './resource-store.js';
export { TransactionalLoop, AtLeastOnceLoop, type ConsumedBatch, type TransactionalLoopOptions, type AtLeastOnceLoopOptions } from './consume-loop.js';
export { CloudEvent } from 'cloudevents';
export type { Kafka, KafkaMessage, Admin } from 'kafkajs';
export { ConsumerLagMonitor, type LagSample, type LagMonitorOptions } from './lag-monitor.js';
