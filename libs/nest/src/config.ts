import { hostname } from 'node:os';
import { parseBrokers, DEFAULT_RESOURCES_TOPIC } from '@ganglion/eventbus';
import { parseLogLevel, type LogLevel } from '@ganglion/telemetry';

/** Settings every service shares, parsed once from the environment at start-up. */
export interface ServiceConfig {
  service: string;
  /** Installation brokers (`KAFKA_BROKERS`). */
  brokers: string[];
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
  /** How often consumer lag is polled (`GANGLION_LAG_POLL_MS`, default 5000). */
  lagPollMs: number;
  /** Address servers bind to (`GANGLION_HOST`, default 0.0.0.0). */
  host: string;
  logLevel: LogLevel;
  /** Local secrets directory (`GANGLION_SECRETS_DIR`), `<dir>/<name>/<key>`. */
  secretsDir: string | undefined;
  /** Partitions of topics created for an EventBus (`GANGLION_TOPIC_PARTITIONS`, default 3). */
  partitions: number;
  /** Replication factor of created topics (`GANGLION_TOPIC_REPLICATION`, default 1). */
  replicationFactor: number;
}

export class ConfigError extends Error {}

function numeric(env: Record<string, string | undefined>, name: string, def: number, min: number, max: number, integer: boolean): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max)
    throw new ConfigError(`${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got "${raw}"`);
  return n;
}

/** The integer setting `name` in [min, max]; `def` when unset or empty; otherwise a ConfigError naming it. */
export function intVar(env: Record<string, string | undefined>, name: string, def: number, min: number, max: number): number {
  return numeric(env, name, def, min, max, true);
}

/** The number setting `name` in [min, max] (fractions allowed), like {@link intVar}. */
export function numberVar(env: Record<string, string | undefined>, name: string, def: number, min: number, max: number): number {
  return numeric(env, name, def, min, max, false);
}

export function parseServiceConfig(service: string, env: Record<string, string | undefined>): ServiceConfig {
  const brokers = env['KAFKA_BROKERS'];
  if (!brokers) throw new ConfigError('KAFKA_BROKERS is not set (expected host:port[,host:port...] of the Kafka cluster)');
  let list: string[];
  try {
    list = parseBrokers(brokers);
  } catch (err) {
    throw new ConfigError(`KAFKA_BROKERS: ${(err as Error).message}`);
  }
  return {
    service,
    brokers: list,
    resourcesTopic: env['GANGLION_RESOURCES_TOPIC'] || DEFAULT_RESOURCES_TOPIC,
    instanceId: env['GANGLION_INSTANCE_ID'] || hostname(),
    healthPort: intVar(env, 'GANGLION_HEALTH_PORT', 8081, 0, 65535),
    metricsPort: intVar(env, 'GANGLION_METRICS_PORT', 7777, 0, 65535),
    livenessStallSeconds: intVar(env, 'GANGLION_LIVENESS_STALL_SECONDS', 120, 0, 86_400),
    lagPollMs: intVar(env, 'GANGLION_LAG_POLL_MS', 5000, 100, 3_600_000),
    host: env['GANGLION_HOST'] || '0.0.0.0',
    logLevel: parseLogLevel(env['LOG_LEVEL']),
    secretsDir: env['GANGLION_SECRETS_DIR'] || undefined,
    partitions: intVar(env, 'GANGLION_TOPIC_PARTITIONS', 3, 1, 10_000),
    replicationFactor: intVar(env, 'GANGLION_TOPIC_REPLICATION', 1, 1, 32),
  };
}
