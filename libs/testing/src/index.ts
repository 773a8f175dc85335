export { waitFor, type WaitForOptions } from './wait-for.js';
export { freePort } from './ports.js';
export { uniquePrefix } from './names.js';
export { KafkaBroker, ensureKafkaJars, KAFKA_VERSION, MissingPrerequisiteError, type KafkaBrokerOptions } from './kafka-broker.js';
export { runKafka, kafkaBrokers } from './shared-kafka.js';
export { ServiceProcess, SERVICES, INGRESS_SERVICES, REPO_ROOT, type ServiceName, type ServiceProcessOptions } from './service-process.js';
export { ensureGoTool, ensureHelm, HELM_VERSION } from './go-tools.js';
export { KubeApiServer, kubeApiServer, ensureKubeBinaries, issueCertificate, KUBE_VERSION, type AuditEvent, type IssuedCert } from './kube-apiserver.js';
