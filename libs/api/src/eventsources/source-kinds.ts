import type { EventSourceType } from '../types.js';

/**
 * How an ingress service runs a source type. `push`: every replica serves the type's HTTP
 * endpoints (webhooks), autoscaled. `owned`: exactly one replica at a time runs the type's
 * EventSources (Kafka group ownership), the others on standby; Argo runs these behind a leader
 * elector (`RecreateStrategyEventSources`). `group`: a broker source whose broker has consumer
 * groups (Kafka, NATS queue groups, Redis stream groups): every replica runs every EventSource of
 * the type, active-active, and the broker splits the messages among them.
 */
export type SourceKind = 'push' | 'owned' | 'group';

/**
 * The source types this release runs, each with its kind: every one of Argo's (an Argo type
 * missing here fails the build), the table libs/eventsources's registry `satisfies` (a type here
 * without a runtime, or a runtime not here, fails the build), and from
 * which `ganglion generate` writes each type's service package (`services/ingress-<type>`) and
 * chart (`charts/ingress-<type>`). Adding a source type adds one line here.
 */
export const SOURCE_KINDS = {
  webhook: 'push',
  github: 'push',
  gitlab: 'push',
  bitbucket: 'push',
  bitbucketserver: 'push',
  gerrit: 'push',
  slack: 'push',
  stripe: 'push',
  sns: 'push',
  storageGrid: 'push',
  calendar: 'owned',
  file: 'owned',
  resource: 'owned',
  amqp: 'group',
  kafka: 'group',
  nats: 'group',
  redisStream: 'group',
  redis: 'owned',
  mqtt: 'owned',
  generic: 'owned',
  nsq: 'group',
  pulsar: 'group',
  emitter: 'owned',
  sftp: 'owned',
  sqs: 'group',
  pubSub: 'group',
  azureQueueStorage: 'group',
  azureServiceBus: 'group',
  azureEventsHub: 'owned',
  mns: 'group',
  minio: 'owned',
  hdfs: 'owned',
} as const satisfies Record<EventSourceType, SourceKind>;

/** A source type this release runs. */
type SupportedSourceType = keyof typeof SOURCE_KINDS;
/** The supported source types of one kind. */
export type SourceTypeOfKind<K extends SourceKind> = {
  [T in SupportedSourceType]: (typeof SOURCE_KINDS)[T] extends K ? T : never;
}[SupportedSourceType];

/**
 * Source types built against their protocol's client but not verified against a real server of
 * their kind (none could be had where they were built and tested), with what they were tested
 * against instead. The reconciler's `Deployed` condition (reason `NotVerified`) says so.
 */
const UNVERIFIED_SOURCE_TYPES: Partial<Record<SupportedSourceType, string>> = {
  mns: "built on Alibaba Cloud's official client (@alicloud/mns) and tested without a server: no MNS server or emulator is served by the package registries",
  emitter:
    "tested over MQTT against mosquitto with emitter's channel topics, not against an emitter server (the Go module proxy serves no version of github.com/emitter-io/emitter)",
  azureServiceBus:
    'built on the official client (@azure/service-bus) but never run against Service Bus or its emulator (none could be had where it was built; ActiveMQ Artemis, tried, never answers the $cbs token exchange of the client); its event mapping is tested',
  azureEventsHub:
    'built on the official client (@azure/event-hubs) but never run against Event Hubs or its emulator (none could be had where it was built; ActiveMQ Artemis, tried, never answers the $cbs token exchange of the client); its event mapping and its checkpoints on Kafka are tested',
  minio:
    'built on the official minio client (listenBucketNotification, as Argo); the MinIO server built from the Go module proxy (github.com/minio/minio v0.0.0-20260212201848-7aac2a2c5b7c) holds back its ListenBucketNotification stream (no response headers until about 8 KB of records, the last records never sent), so no test can observe it deliver',
};

/**
 * Options of a source type built against their protocol but not verified against a real server
 * (none could be had), with what they were tested against instead.
 */
const UNVERIFIED_OPTIONS: Partial<Record<SupportedSourceType, Record<string, string>>> = {
  kafka: {
    awsMskIamAuth:
      "SASL/OAUTHBEARER with a token from AWS's aws-msk-iam-sasl-signer-js, checked for its form only: no MSK cluster can be reached from the tests (loopback only) and no broker here implements MSK IAM",
    schemaRegistry:
      "Avro decoded through the schema registry REST protocol (GET /schemas/ids/<id>), tested against an HTTP server of the tests' own, not a registry (Confluent's is not on Maven Central; Apicurio Registry's app needs io.apicurio:apicurio-registry-schema-util-provider, which Maven Central does not serve at 3.3.3 or 2.6.13.Final; Karapace is not on PyPI)",
  },
};

/**
 * The configured source types of an EventSource `spec` listed in {@link UNVERIFIED_SOURCE_TYPES},
 * and as `<type>.<option>` the options of {@link UNVERIFIED_OPTIONS} set on any of its events.
 */
export function unverifiedSourceTypes(spec: unknown): string[] {
  if (typeof spec !== 'object' || spec === null) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(spec)) {
    if (typeof v !== 'object' || v === null || Object.keys(v).length === 0) continue;
    if (k in UNVERIFIED_SOURCE_TYPES) out.push(k);
    for (const option of Object.keys(UNVERIFIED_OPTIONS[k as SupportedSourceType] ?? {}))
      if (
        Object.values(v).some(
          (ev) => typeof ev === 'object' && ev !== null && (ev as Record<string, unknown>)[option],
        )
      )
        out.push(`${k}.${option}`);
  }
  return out;
}

/** The sentence the reconciler uses for {@link unverifiedSourceTypes}. */
export function notVerifiedMessage(types: readonly string[]): string {
  return types
    .map((t) => {
      const [type, option] = t.split('.') as [SupportedSourceType, string | undefined];
      return option
        ? `option ${t} is not verified against a server: ${UNVERIFIED_OPTIONS[type]?.[option] ?? ''}`
        : `source type ${t} is not verified against a server: ${UNVERIFIED_SOURCE_TYPES[type] ?? ''}`;
    })
    .join('; ');
}
