import { hostname } from 'node:os';
import {
  intVar,
  logLevelVar,
  requiredVar,
  stringVar,
  type AdmissionServing,
  type ServiceConfig,
} from '@ganglion/nest';

/** The admission webhook's settings (it needs no Kafka and no Kubernetes API access). */
/**
 * `port`: the HTTPS port the API server calls (`GANGLION_ADMISSION_PORT`, default 8443);
 * `certFile`/`keyFile`: the serving certificate's PEM files (`GANGLION_ADMISSION_CERT`,
 * `GANGLION_ADMISSION_KEY`), e.g. a mounted Secret, re-read every `certRefreshMs`
 * (`GANGLION_ADMISSION_CERT_REFRESH_MS`, default 10 000).
 */
export interface AdmissionConfig extends AdmissionServing {
  /** What the shared health endpoints need. */
  service: ServiceConfig;
}

export function parseAdmissionConfig(env: Record<string, string | undefined>): AdmissionConfig {
  const port = intVar(env, 'GANGLION_ADMISSION_PORT', 8443, 1, 65535);
  const healthPort = intVar(env, 'GANGLION_HEALTH_PORT', 8081, 0, 65535);
  const metricsPort = intVar(env, 'GANGLION_METRICS_PORT', 7777, 0, 65535);
  const certFile = requiredVar(
    env,
    'GANGLION_ADMISSION_CERT',
    'the PEM file of the serving certificate',
  );
  const keyFile = requiredVar(
    env,
    'GANGLION_ADMISSION_KEY',
    "the PEM file of the serving certificate's key",
  );
  const host = stringVar(env, 'GANGLION_HOST', '0.0.0.0');
  // A rotated certificate (cert-manager renewing the mounted Secret) is served within this long.
  const certRefreshMs = intVar(env, 'GANGLION_ADMISSION_CERT_REFRESH_MS', 10_000, 100, 3_600_000);
  return {
    port,
    host,
    certFile,
    keyFile,
    certRefreshMs,
    service: {
      service: 'admission',
      brokers: [],
      kafkaSecurity: {},
      resourcesTopic: '',
      instanceId: stringVar(env, 'GANGLION_INSTANCE_ID', hostname()),
      healthPort,
      // Prometheus /metrics (`GANGLION_METRICS_PORT`, default 7777; 0 disables): the review
      // counters and latency. No Kafka consumers here: no lag metrics, no consumer-progress liveness.
      metricsPort,
      livenessStallSeconds: 0,
      lagPollMs: 5000,
      host,
      heapCompactionSeconds: intVar(env, 'GANGLION_HEAP_COMPACTION_SECONDS', 30, 0, 86_400),
      logLevel: logLevelVar(env),
      secretsDir: undefined,
      secretsSource: 'local',
      kubeconfig: undefined,
      partitions: 1,
      replicationFactor: 1,
      // The admission webhook creates no topics.
      topics: {
        replicationFactor: 1,
        minInsyncReplicas: 1,
        maxMessageBytes: 0,
        retentionMs: 0,
        dlqRetentionMs: 0,
      },
    },
  };
}
