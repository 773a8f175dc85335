import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  parseBrokers,
  DEFAULT_RESOURCES_TOPIC,
  SASL_MECHANISMS,
  DEFAULT_TOPIC_POLICY,
  type InstallationSecuritySettings,
  type SaslMechanism,
  type TopicPolicy,
} from '@ganglion/eventbus';
import type { LogLevel } from '@ganglion/telemetry';

/** Settings every service shares, parsed once from the environment at start-up. */
export interface ServiceConfig {
  service: string;
  /** Installation brokers (`KAFKA_BROKERS`). */
  brokers: string[];
  /**
   * TLS and SASL of the installation's cluster ({@link kafkaSecurityVars}: `KAFKA_TLS*`,
   * `KAFKA_SASL_*`); empty: plaintext without login.
   */
  kafkaSecurity: InstallationSecuritySettings;
  /** Compacted resources topic (`GANGLION_RESOURCES_TOPIC`, default `ganglion-resources`). */
  resourcesTopic: string;
  /** Stable identity of this replica (`GANGLION_INSTANCE_ID`, default the host name). */
  instanceId: string;
  /** Health endpoints port (`GANGLION_HEALTH_PORT`, default 8081; 0 disables). */
  healthPort: number;
  /** Prometheus `/metrics` port (`GANGLION_METRICS_PORT`, default 7777 like Argo; 0 disables). */
  metricsPort: number;
  /**
   * Liveness fails when a consumer assigned here has had records waiting for this long without
   * committing progress (`GANGLION_LIVENESS_STALL_SECONDS`, default 120; 0 disables).
   */
  livenessStallSeconds: number;
  /** How often consumer lag is polled (`GANGLION_LAG_POLL_MS`, default 15000: half the chart's 30 s scrape interval; each poll is a handful of admin requests the broker pays for). */
  lagPollMs: number;
  /** Address servers bind to (`GANGLION_HOST`, default 0.0.0.0). */
  host: string;
  /**
   * Seconds after start-up at which the process hands its start-up heap growth back to the
   * system, then again whenever it is quiet after a burst (`GANGLION_HEAP_COMPACTION_SECONDS`,
   * default 30; 0 disables; libs/nest `HeapCompactor`).
   */
  heapCompactionSeconds: number;
  /** `LOG_LEVEL`: debug, info (default), warn or error. */
  logLevel: LogLevel;
  /** Local secrets directory (`GANGLION_SECRETS_DIR`), `<dir>/<name>/<key>`. */
  secretsDir: string | undefined;
  /**
   * Where `SecretKeySelector`s are resolved (`GANGLION_SECRETS_SOURCE`): `kubernetes` (the API;
   * the default in a pod, i.e. with `KUBERNETES_SERVICE_HOST`, unless `GANGLION_SECRETS_DIR` is
   * set) or `local` (files under the secrets directory, then `GANGLION_SECRET_<NAME>_<KEY>`).
   */
  secretsSource: 'kubernetes' | 'local';
  /** Kubeconfig file (`GANGLION_KUBECONFIG`); in-cluster (or `$KUBECONFIG`) when unset. */
  kubeconfig: string | undefined;
  /** Partitions of topics created for an EventBus (`GANGLION_TOPIC_PARTITIONS`, default 3). */
  partitions: number;
  /**
   * Replication factor of created topics (`GANGLION_TOPIC_REPLICATION`; default 0: min(3,
   * brokers in the cluster), so 3 on a production cluster and 1 on the local stack's broker).
   */
  replicationFactor: number;
  /**
   * How bus topics are created (libs/eventbus `TopicPolicy`): `replicationFactor` as above,
   * `GANGLION_TOPIC_MIN_INSYNC_REPLICAS` (0: min(2, replication − 1)),
   * `GANGLION_TOPIC_MAX_MESSAGE_BYTES` (8 MiB), `GANGLION_TOPIC_RETENTION_HOURS` (168) and
   * `GANGLION_DLQ_RETENTION_HOURS` (720). An EventBus's annotations override them.
   */
  topics: TopicPolicy;
}

/** A file setting: unset, or the path of a file that exists. */
function fileVar(env: Env, name: string): string | undefined {
  const path = raw(env, name);
  if (path !== undefined && !existsSync(path))
    throw new ConfigError(`${name}: no such file ${path}`);
  return path;
}

/**
 * The installation cluster's TLS and SASL: `KAFKA_TLS` (true/false; on by default when any
 * `KAFKA_TLS_*` file or server name is set), `KAFKA_TLS_CA_FILE`, `KAFKA_TLS_CERT_FILE` +
 * `KAFKA_TLS_KEY_FILE` (mutual TLS), `KAFKA_TLS_SERVER_NAME`, `KAFKA_TLS_INSECURE_SKIP_VERIFY`;
 * `KAFKA_SASL_MECHANISM` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; unset: no login),
 * `KAFKA_SASL_USERNAME`, and `KAFKA_SASL_PASSWORD` or `KAFKA_SASL_PASSWORD_FILE`. Files are
 * read again on every reconnection, so a rotated mounted Secret takes effect.
 */
function kafkaSecurityVars(env: Env): InstallationSecuritySettings {
  const caFile = fileVar(env, 'KAFKA_TLS_CA_FILE');
  const certFile = fileVar(env, 'KAFKA_TLS_CERT_FILE');
  const keyFile = fileVar(env, 'KAFKA_TLS_KEY_FILE');
  const serverName = stringVar(env, 'KAFKA_TLS_SERVER_NAME');
  const insecureSkipVerify = boolVar(env, 'KAFKA_TLS_INSECURE_SKIP_VERIFY', false);
  const tlsOn = boolVar(
    env,
    'KAFKA_TLS',
    [caFile, certFile, keyFile, serverName].some((v) => v !== undefined) || insecureSkipVerify,
  );
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ConfigError('KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE must be set together');
  const out: InstallationSecuritySettings = {};
  if (tlsOn)
    out.tls = {
      ...(caFile ? { caFile } : {}),
      ...(certFile ? { certFile } : {}),
      ...(keyFile ? { keyFile } : {}),
      ...(serverName ? { serverName } : {}),
      ...(insecureSkipVerify ? { insecureSkipVerify } : {}),
    };
  const mechanism = raw(env, 'KAFKA_SASL_MECHANISM');
  if (mechanism !== undefined) {
    const m = enumVar(env, 'KAFKA_SASL_MECHANISM', SASL_MECHANISMS, 'PLAIN') as SaslMechanism;
    const username = requiredVar(env, 'KAFKA_SASL_USERNAME', `the ${m} user`);
    const password = raw(env, 'KAFKA_SASL_PASSWORD');
    const passwordFile = fileVar(env, 'KAFKA_SASL_PASSWORD_FILE');
    if (password === undefined && passwordFile === undefined)
      throw new ConfigError(
        `KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE must be set with KAFKA_SASL_MECHANISM`,
      );
    out.sasl = {
      mechanism: m,
      username,
      ...(password !== undefined ? { password } : {}),
      ...(passwordFile !== undefined ? { passwordFile } : {}),
    };
  }
  return out;
}

/** A setting with a bad value: the message names the variable. Start-up ends with exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * The typed settings reader: every setting of every service is read through these functions,
 * once, at start-up. An unset or empty variable gives the default; a set variable with a bad
 * value is a {@link ConfigError} naming the variable, never a silent fallback to the default.
 */
type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function numeric(
  env: Env,
  name: string,
  def: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  const value = raw(env, name);
  if (value === undefined) return def;
  const n = Number(value);
  if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max)
    throw new ConfigError(
      `${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got "${value}"`,
    );
  return n;
}

/** The integer setting `name` in [min, max]; `def` when unset or empty; otherwise a ConfigError naming it. */
export function intVar(env: Env, name: string, def: number, min: number, max: number): number {
  return numeric(env, name, def, min, max, true);
}

/** The number setting `name` in [min, max] (fractions allowed), like {@link intVar}. */
export function numberVar(env: Env, name: string, def: number, min: number, max: number): number {
  return numeric(env, name, def, min, max, false);
}

/** The string setting `name`; `def` when unset or empty. */
export function stringVar(env: Env, name: string): string | undefined;
export function stringVar(env: Env, name: string, def: string): string;
export function stringVar(env: Env, name: string, def?: string): string | undefined {
  return raw(env, name) ?? def;
}

/** The string setting `name`, which must be set; `what` says what it is, in the error. */
export function requiredVar(env: Env, name: string, what: string): string {
  const value = raw(env, name);
  if (value === undefined) throw new ConfigError(`${name} is not set (${what})`);
  return value;
}

/** The boolean setting `name`: `true` or `false` (any case); `def` when unset or empty. */
export function boolVar(env: Env, name: string, def: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return def;
  const v = value.toLowerCase();
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

/** The setting `name`, one of `values`; `def` when unset or empty. */
export function enumVar<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const value = raw(env, name);
  if (value === undefined) return def;
  if (!(values as readonly string[]).includes(value))
    throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${value}"`);
  return value as T;
}

/** The absolute URL setting `name` (as written); undefined when unset or empty. */
export function urlVar(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  if (!URL.canParse(value)) throw new ConfigError(`${name} must be a URL, got "${value}"`);
  return value;
}

/** The label setting `name` (`key=value,key=value`, Kubernetes label syntax, at least one); `def` when unset or empty. */
export function labelsVar(
  env: Env,
  name: string,
  def: Record<string, string>,
): Record<string, string> {
  const value = raw(env, name);
  if (value === undefined) return def;
  const out: Record<string, string> = {};
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9._/-]+)=([A-Za-z0-9._-]*)$/.exec(part);
    if (!m) throw new ConfigError(`${name}: "${part}" is not label=value`);
    out[m[1]!] = m[2]!;
  }
  if (Object.keys(out).length === 0)
    throw new ConfigError(`${name} must name at least one label=value`);
  return out;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** `LOG_LEVEL`: debug, info (default), warn or error. */
export function logLevelVar(env: Env): LogLevel {
  return enumVar(env, 'LOG_LEVEL', LOG_LEVELS, 'info');
}

/** `GANGLION_SECRETS_SOURCE` (see {@link ServiceConfig.secretsSource}). */
function secretsSourceVar(env: Env, secretsDir: string | undefined): 'kubernetes' | 'local' {
  return enumVar(
    env,
    'GANGLION_SECRETS_SOURCE',
    ['kubernetes', 'local'],
    raw(env, 'KUBERNETES_SERVICE_HOST') && !secretsDir ? 'kubernetes' : 'local',
  );
}

const HOUR = 3600_000;

export function parseServiceConfig(service: string, env: Env): ServiceConfig {
  const brokers = requiredVar(
    env,
    'KAFKA_BROKERS',
    'expected host:port[,host:port...] of the Kafka cluster',
  );
  let list: string[];
  try {
    list = parseBrokers(brokers);
  } catch (err) {
    throw new ConfigError(`KAFKA_BROKERS: ${(err as Error).message}`);
  }
  const secretsDir = stringVar(env, 'GANGLION_SECRETS_DIR');
  const replicationFactor = intVar(env, 'GANGLION_TOPIC_REPLICATION', 0, 0, 32);
  return {
    service,
    brokers: list,
    kafkaSecurity: kafkaSecurityVars(env),
    resourcesTopic: stringVar(env, 'GANGLION_RESOURCES_TOPIC', DEFAULT_RESOURCES_TOPIC),
    instanceId: stringVar(env, 'GANGLION_INSTANCE_ID', hostname()),
    healthPort: intVar(env, 'GANGLION_HEALTH_PORT', 8081, 0, 65535),
    metricsPort: intVar(env, 'GANGLION_METRICS_PORT', 7777, 0, 65535),
    livenessStallSeconds: intVar(env, 'GANGLION_LIVENESS_STALL_SECONDS', 120, 0, 86_400),
    lagPollMs: intVar(env, 'GANGLION_LAG_POLL_MS', 15_000, 100, 3_600_000),
    host: stringVar(env, 'GANGLION_HOST', '0.0.0.0'),
    heapCompactionSeconds: intVar(env, 'GANGLION_HEAP_COMPACTION_SECONDS', 30, 0, 86_400),
    logLevel: logLevelVar(env),
    secretsDir,
    secretsSource: secretsSourceVar(env, secretsDir),
    kubeconfig: stringVar(env, 'GANGLION_KUBECONFIG'),
    partitions: intVar(env, 'GANGLION_TOPIC_PARTITIONS', 3, 1, 10_000),
    replicationFactor,
    topics: {
      replicationFactor,
      minInsyncReplicas: intVar(env, 'GANGLION_TOPIC_MIN_INSYNC_REPLICAS', 0, 0, 32),
      maxMessageBytes: intVar(
        env,
        'GANGLION_TOPIC_MAX_MESSAGE_BYTES',
        DEFAULT_TOPIC_POLICY.maxMessageBytes,
        1024,
        2 ** 30,
      ),
      retentionMs:
        intVar(
          env,
          'GANGLION_TOPIC_RETENTION_HOURS',
          DEFAULT_TOPIC_POLICY.retentionMs / HOUR,
          1,
          876_000,
        ) * HOUR,
      dlqRetentionMs:
        intVar(
          env,
          'GANGLION_DLQ_RETENTION_HOURS',
          DEFAULT_TOPIC_POLICY.dlqRetentionMs / HOUR,
          1,
          876_000,
        ) * HOUR,
    },
  };
}
