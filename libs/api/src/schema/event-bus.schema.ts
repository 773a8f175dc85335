/**
 * EventBus spec (Argo `eventbus_types.go`, `nats_eventbus.go`, `jetstream_eventbus.go`,
 * `kafka_eventbus.go`). Every kind is described; Ganglion accepts only `kafka`.
 */
import {
  ContainerTemplate,
  KafkaConsumerGroup,
  LocalObjectReference,
  Metadata,
  SASLConfig,
  TLSConfig,
  secret,
} from './common.schema.js';
import { arr, enumOf, free, int, obj, str, stringMap, withDoc } from './dsl.schema.js';

const PersistenceStrategy = obj(
  'PersistenceStrategy',
  {
    storageClassName: str('Storage class of the PVCs.'),
    accessMode: enumOf(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany'], 'Access mode.'),
    volumeSize: str('Volume size, a Kubernetes quantity.'),
  },
  { doc: 'Argo `PersistenceStrategy`.' },
);

const podFields = {
  nodeSelector: stringMap('Node selector.'),
  tolerations: arr(free(), 'Kubernetes `Toleration`s.'),
  metadata: Metadata,
  securityContext: free('Kubernetes `PodSecurityContext`.'),
  imagePullSecrets: arr(LocalObjectReference, 'Image pull secrets.'),
  serviceAccountName: str('Service account.'),
  priorityClassName: str('Priority class name.'),
  priority: int('Pod priority.'),
  affinity: free('Kubernetes `Affinity`.'),
};

/** Argo `KafkaBus`. */
const KafkaBus = obj(
  'KafkaBus',
  {
    url: str(
      "Comma-separated brokers; Ganglion defaults to the installation's brokers (Argo requires it).",
    ),
    topic: str('Event topic; `<namespace>-<eventbus name>` by default.'),
    version: str('Kafka protocol version.'),
    tls: withDoc(TLSConfig, 'TLS settings.'),
    sasl: SASLConfig,
    consumerGroup: KafkaConsumerGroup,
    partitioner: enumOf(['random', 'hash', 'roundrobin', 'manual'], 'Producer partitioner.'),
  },
  { doc: 'Argo `KafkaBus`: the Kafka event bus.' },
);

/** Argo `NATSBus`. */
const NATSBus = obj(
  'NATSBus',
  {
    native: obj(
      'NativeStrategy',
      {
        replicas: int('Replicas; 3 by default.', { minimum: 0 }),
        auth: enumOf(['none', 'token', 'basic'], 'Client authentication.'),
        persistence: PersistenceStrategy,
        containerTemplate: ContainerTemplate,
        metricsContainerTemplate: ContainerTemplate,
        ...podFields,
        maxAge: str('Message retention; 72h by default.'),
        maxMsgs: int('Maximum messages; 1000000 by default.', { minimum: 0 }),
        maxBytes: str('Maximum bytes; 1GB by default.'),
        maxSubs: int('Maximum subscriptions; 1000 by default.', { minimum: 0 }),
        maxPayload: str('Maximum payload; 1MB by default.'),
        raftHeartbeatTimeout: str('Raft heartbeat timeout.'),
        raftElectionTimeout: str('Raft election timeout.'),
        raftLeaseTimeout: str('Raft lease timeout.'),
        raftCommitTimeout: str('Raft commit timeout.'),
      },
      { doc: 'Argo `NativeStrategy`: a deployed NATS Streaming (STAN) server.' },
    ),
    exotic: obj(
      'NATSConfig',
      {
        url: str('NATS URL.'),
        clusterID: str('STAN cluster id.'),
        auth: enumOf(['none', 'token', 'basic'], 'Client authentication.'),
        accessSecret: secret('Credentials.'),
      },
      {
        doc: 'Argo `NATSConfig`: an existing NATS Streaming server.',
        required: ['url', 'clusterID'],
      },
    ),
  },
  { doc: 'Argo `NATSBus` (deprecated in Argo; not offered by Ganglion).' },
);

/** Argo `JetStreamBus`. */
const JetStreamBus = obj(
  'JetStreamBus',
  {
    version: str('JetStream version from the controller config.'),
    replicas: int('Replicas; 3 by default; 1 or at least 3.', { minimum: 0 }),
    containerTemplate: ContainerTemplate,
    reloaderContainerTemplate: ContainerTemplate,
    metricsContainerTemplate: ContainerTemplate,
    persistence: PersistenceStrategy,
    ...podFields,
    settings: str('nats-server settings.'),
    startArgs: arr(str(), 'Extra nats-server arguments.'),
    streamConfig: str('Stream configuration as YAML.'),
    maxPayload: str('Maximum payload.'),
  },
  {
    doc: 'Argo `JetStreamBus`: a deployed JetStream cluster (not offered by Ganglion).',
    required: ['version'],
  },
);

/** Argo `JetStreamConfig` (exotic JetStream). */
const JetStreamConfig = obj(
  'JetStreamConfig',
  {
    url: str('JetStream URL.'),
    accessSecret: secret('Credentials.'),
    streamConfig: str('Stream configuration as YAML.'),
    tls: withDoc(TLSConfig, 'TLS settings.'),
  },
  {
    doc: 'Argo `JetStreamConfig`: an existing JetStream server (not offered by Ganglion).',
    required: ['url'],
  },
);

/** Argo `EventBusSpec`. */
export const EventBusSpec = obj(
  'EventBusSpec',
  {
    nats: NATSBus,
    jetstream: JetStreamBus,
    kafka: KafkaBus,
    jetstreamExotic: JetStreamConfig,
  },
  { doc: 'Argo `EventBusSpec`: exactly one bus kind; Ganglion supports kafka.' },
);
