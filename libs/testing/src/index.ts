export { waitFor } from './wait-for.js';
export { jvmJitCpuSeconds, statCpuSeconds } from './jvm-jit.js';
export { freePort, holdPort } from './ports.js';
export { uniquePrefix } from './names.js';
export { KafkaBroker, countRequests, MissingPrerequisiteError } from './kafka-broker.js';
export { changelogMirrorMembers, kafkaBrokers } from './shared-kafka.js';
export { ServiceProcess, SERVICES, REPO_ROOT, type ServiceName } from './service-process.js';
export { ensureHelm } from './go-tools.js';
export { KubeApiServer, kubeApiServer } from './kube-apiserver.js';
export { KubeCluster, kubeCluster, clusterLeftovers, HOST_IP, runAsync } from './kube-cluster.js';
export { NatsServer } from './nats-server.js';
export { RedisServer, Mosquitto } from './loopback-server.js';
export { OwnedReplicas } from './owned-replicas.js';
export { withBody } from './http-body.js';
export {
  Jaeger,
  ensureJaegerBinary,
  cachedJaegerBinary,
  JAEGER_VERSION,
  type JaegerSpan,
  type JaegerTrace,
} from './jaeger.js';
export { RabbitMqServer } from './rabbitmq-server.js';
export { NsqServer } from './nsq-server.js';
export { PulsarStandalone } from './pulsar-standalone.js';
export {
  ElasticMq,
  PubSubTestServer,
  AzuriteQueue,
  SftpServer,
  HdfsMiniCluster,
} from './cloud-peers.js';
export { Prng, fuzzSeed } from './fuzz.js';
export { ensureGanglionImage, ensureGanglionBaseImage, type GanglionImage } from './image.js';
export { PodmanService, podman, buildah } from './podman.js';
