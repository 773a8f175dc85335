/**
 * Types shared by EventSource, Sensor and EventBus (Argo `pkg/apis/events/v1alpha1/common.go`,
 * `template.go`, `webhook_context.go`) and the Kubernetes types Argo embeds.
 */
import {
  arr,
  bool,
  enumOf,
  free,
  int,
  intOrString,
  num,
  obj,
  str,
  stringMap,
  withDoc,
} from './dsl.schema.js';

/** Kubernetes `SecretKeySelector`. */
const SecretKeySelector = obj(
  'SecretKeySelector',
  {
    name: str("Name of the Secret (in the resource's namespace)."),
    key: str('Key within the Secret.'),
    optional: bool('Whether the Secret or its key must exist.'),
  },
  {
    doc: 'Kubernetes `SecretKeySelector`: a key of a Secret, mounted at `/argo-events/secrets/<name>/<key>`.',
    required: ['name', 'key'],
  },
);

/** Kubernetes `ConfigMapKeySelector`. */
export const ConfigMapKeySelector = obj(
  'ConfigMapKeySelector',
  {
    name: str('Name of the ConfigMap.'),
    key: str('Key within the ConfigMap.'),
    optional: bool('Whether the ConfigMap or its key must exist.'),
  },
  {
    doc: 'Kubernetes `ConfigMapKeySelector`: a key of a ConfigMap, mounted at `/argo-events/config/<name>/<key>`.',
    required: ['name', 'key'],
  },
);

export const secret = (doc: string) => withDoc(SecretKeySelector, doc);

/** Argo `TLSConfig` (`common.go`). */
export const TLSConfig = obj(
  'TLSConfig',
  {
    caCertSecret: secret('CA certificate used to verify the server.'),
    clientCertSecret: secret('Client certificate (mutual TLS).'),
    clientKeySecret: secret('Client private key (mutual TLS).'),
    insecureSkipVerify: bool('Skip server certificate verification.'),
  },
  { doc: 'Argo `TLSConfig`: TLS settings of a client connection.' },
);

/** Argo `SASLConfig` (`common.go`). */
export const SASLConfig = obj(
  'SASLConfig',
  {
    mechanism: enumOf(
      ['PLAIN', 'OAUTHBEARER', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'GSSAPI'],
      'SASL mechanism; PLAIN by default.',
    ),
    userSecret: secret('User name.'),
    passwordSecret: secret('Password.'),
  },
  { doc: 'Argo `SASLConfig`: SASL authentication for Kafka.' },
);

/** Argo `BasicAuth` (`common.go`). */
export const BasicAuth = obj(
  'BasicAuth',
  { username: secret('User name.'), password: secret('Password.') },
  { doc: 'Argo `BasicAuth`: user name and password from Secrets.' },
);

/** Argo `Backoff` (`common.go`). */
export const Backoff = obj(
  'Backoff',
  {
    duration: intOrString('Initial delay: integer nanoseconds or a Go duration such as "1s".'),
    factor: num('Multiplier applied to the delay after each attempt.', { minimum: 0 }),
    jitter: num('Random fraction added to each delay.', { minimum: 0 }),
    steps: int('Number of attempts.', { minimum: 0 }),
  },
  { doc: 'Argo `Backoff`: retry schedule (`pkg/shared/util/retry.go`).' },
);

/** Argo `Metadata` (`common.go`): labels and annotations of generated objects. */
export const Metadata = obj(
  'Metadata',
  { annotations: stringMap('Annotations.'), labels: stringMap('Labels.') },
  { doc: 'Argo `Metadata`: labels and annotations to put on generated objects.' },
);

/** Kubernetes `LocalObjectReference`. */
export const LocalObjectReference = obj(
  'LocalObjectReference',
  { name: str('Name of the object.') },
  { doc: 'Kubernetes `LocalObjectReference`.' },
);

/** Argo `Container` (`template.go`): the adjustable parts of the main container. */
export const ContainerTemplate = obj(
  'ContainerTemplate',
  {
    resources: free('Kubernetes `ResourceRequirements`.'),
    imagePullPolicy: enumOf(['Always', 'Never', 'IfNotPresent'], 'Image pull policy.'),
    securityContext: free('Kubernetes container `SecurityContext`.'),
    volumeMounts: arr(free(), 'Kubernetes `VolumeMount`s.'),
    env: arr(free(), 'Kubernetes `EnvVar`s.'),
    envFrom: arr(free(), 'Kubernetes `EnvFromSource`s.'),
  },
  { doc: 'Argo `Container`: settings of the main container of a generated pod.' },
);

/** Argo `Template` (`template.go`): pod template of EventSource and Sensor deployments. */
export const PodTemplate = obj(
  'PodTemplate',
  {
    metadata: Metadata,
    serviceAccountName: str('Service account of the pod.'),
    container: ContainerTemplate,
    volumes: arr(free(), 'Kubernetes `Volume`s.'),
    securityContext: free('Kubernetes `PodSecurityContext`.'),
    nodeSelector: stringMap('Node selector.'),
    tolerations: arr(free(), 'Kubernetes `Toleration`s.'),
    imagePullSecrets: arr(LocalObjectReference, 'Image pull secrets.'),
    priorityClassName: str('Priority class name.'),
    priority: int('Pod priority.'),
    affinity: free('Kubernetes `Affinity`.'),
  },
  { doc: 'Argo `Template`: the pod template of an EventSource or Sensor deployment.' },
);

/** Argo `WatchPathConfig` (`eventsource_types.go`). */
export const WatchPathConfig = obj(
  'WatchPathConfig',
  {
    directory: str('Absolute directory to watch.'),
    path: str('File name within the directory.'),
    pathRegexp: str('Regular expression matched against file names.'),
  },
  {
    doc: 'Argo `WatchPathConfig`: what to watch.',
    required: ['directory'],
    atLeastOne: [['path', 'pathRegexp']],
  },
);

/** Argo `SchemaRegistryConfig` (`common.go`). */
export const SchemaRegistryConfig = obj(
  'SchemaRegistryConfig',
  {
    url: str('Schema registry URL.'),
    schemaId: int('Schema id (Avro).'),
    auth: BasicAuth,
  },
  { doc: 'Argo `SchemaRegistryConfig`: Avro schema registry.', required: ['url'] },
);

/** Argo `KafkaConsumerGroup` (`eventsource_types.go`). */
export const KafkaConsumerGroup = obj(
  'KafkaConsumerGroup',
  {
    groupName: str('Consumer group name.'),
    oldest: bool(
      'Start from the oldest offset when the group has none (the docs call it startOldest).',
    ),
    rebalanceStrategy: enumOf(
      ['range', 'roundrobin', 'sticky'],
      'Partition assignment strategy; range by default.',
    ),
  },
  { doc: 'Argo `KafkaConsumerGroup`.' },
);

/** Argo `NATSAuth` (`common.go`). */
export const NATSAuth = obj(
  'NATSAuth',
  {
    basic: BasicAuth,
    token: secret('Token.'),
    nkey: secret('NKey seed.'),
    credential: secret('Credentials file (JWT and seed).'),
  },
  { doc: 'Argo `NATSAuth`: one way to authenticate to NATS.' },
);

/** Argo `EventSourceFilter` (`eventsource_types.go`). */
export const EventSourceFilter = obj(
  'EventSourceFilter',
  { expression: str('expr-language expression over the event data; must return a bool.') },
  {
    doc: 'Argo `EventSourceFilter`: drops events for which the expression is false.',
    required: ['expression'],
  },
);

/** Kubernetes `ServicePort`, typed loosely as Argo embeds it. */
export const ServiceSpec = obj(
  'ServiceSpec',
  {
    metadata: Metadata,
    ports: arr(free(), 'Kubernetes `ServicePort`s.'),
    clusterIP: str('Cluster IP of the Service.'),
  },
  { doc: 'Argo `Service`: a ClusterIP Service in front of the EventSource pods.' },
);

/** Argo `WebhookContext` fields (`webhook_context.go`), reused inline by `webhook`. */
export const webhookContextFields = {
  endpoint: str('Path the server listens on, starting with "/".'),
  method: str('HTTP method the endpoint accepts.'),
  port: str('Port the server listens on, as a string (e.g. "12000").'),
  url: str('Public URL of this endpoint, used to register hooks with the provider.', {
    format: 'url',
  }),
  serverCertSecret: secret('TLS certificate of the server.'),
  serverKeySecret: secret('TLS private key of the server.'),
  metadata: stringMap('Copied into the event data as `metadata`.'),
  authSecret: secret('Bearer token that requests must present in `Authorization`.'),
  maxPayloadSize: int('Largest accepted request body in bytes; 1048576 by default.', {
    minimum: 1,
  }),
};

export const WebhookContext = obj('WebhookContext', webhookContextFields, {
  doc: 'Argo `WebhookContext`: the HTTP endpoint of a webhook-family EventSource.',
  required: ['endpoint', 'method', 'port'],
});

/** Argo `S3Artifact` (`common.go`): minio source and `s3` artifact location. */
export const S3Artifact = obj(
  'S3Artifact',
  {
    endpoint: str('S3-compatible endpoint (host:port).'),
    bucket: obj(
      'S3Bucket',
      { key: str('Object key.'), name: str('Bucket name.') },
      { doc: 'Argo `S3Bucket`.', required: ['name'] },
    ),
    region: str('Region.'),
    insecure: bool('Use plain HTTP.'),
    accessKey: secret('Access key.'),
    secretKey: secret('Secret key.'),
    events: arr(str(), 'Bucket notification types, e.g. `s3:ObjectCreated:*`.'),
    filter: obj(
      'S3Filter',
      { prefix: str('Object key prefix.'), suffix: str('Object key suffix.') },
      { doc: 'Argo `S3Filter`.' },
    ),
    metadata: stringMap('Key/value pairs copied into the event data as `metadata`.'),
    caCertificate: secret('CA certificate of the endpoint.'),
  },
  {
    doc: 'Argo `S3Artifact`: an object or bucket in S3-compatible storage.',
    required: ['endpoint'],
  },
);
