export { waitFor, type WaitForOptions } from './wait-for.js';
export { freePort } from './ports.js';
export { uniquePrefix } from './names.js';
export { KafkaBroker, ensureKafkaJars, KAFKA_VERSION, MissingPrerequisiteError, type KafkaBrokerOptions } from './kafka-broker.js';
export { runKafka, kafkaBrokers } from './shared-kafka.js';
export { ServiceProcess, SERVICES, REPO_ROOT, TELEMETRY_REGISTER, type ServiceName, type ServiceProcessOptions } from './service-process.js';
