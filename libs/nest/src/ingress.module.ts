import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Type,
} from '@nestjs/common';
import {
  ensureTopics,
  GroupOwnership,
  RouteStatusReporter,
  routeStatusTopic,
  routeStatusTopicConfig,
  type BusClients,
  type BusProducers,
  type Kafka,
} from '@ganglion/eventbus';
import {
  DEFAULT_INGRESS_LIMITS,
  groupSources,
  DEFAULT_MASKED_HEADERS,
  ownedSources,
  pushSources,
  PushIngressRunner,
  PUSH_PRODUCER_OPTIONS,
  SNS_URL_PATTERN,
  type IngressLimits,
  type OwnedHost,
  type OwnedRunner,
  type OwnedSourceType,
  type GroupSourceType,
  type PushSourceType,
} from '@ganglion/eventsources';
import { createSecretResolver } from '@ganglion/k8s';
import { processMetrics, type Logger } from '@ganglion/telemetry';
import { bootstrapService } from './bootstrap.js';
import { ConfigError, intVar, numberVar, stringVar, urlVar, type ServiceConfig } from './config.js';
import { GanglionModule } from './ganglion.module.js';
import { HealthService } from './health.service.js';
import { ResourceStoreService } from './resource-store.service.js';
import { BUS_CLIENTS, CONFIG, ENV, KAFKA, LOGGER } from './tokens.js';

const SOURCE_TYPE = Symbol.for('ganglion.ingress.type');
/** The type's runtime, loaded at start-up: only that type's code and client library (registry.ts). */
const SOURCE_RUNTIME = Symbol.for('ganglion.ingress.runtime');

/** Service name of an ingress type: `ingress-<type lower-cased>` (`storageGrid` → `ingress-storagegrid`). */
function ingressServiceName(type: string): string {
  return `ingress-${type.toLowerCase()}`;
}

/** `GANGLION_INGRESS_RATE_LIMIT`: default requests/s per route and replica (0 = unlimited). */
function rateLimitFrom(env: Record<string, string | undefined>): number {
  return numberVar(env, 'GANGLION_INGRESS_RATE_LIMIT', 0, 0, 1_000_000);
}

/**
 * The push ingress limits (docs/eventsources/README.md, "Limits"): `GANGLION_INGRESS_*`
 * overrides each default of DEFAULT_INGRESS_LIMITS.
 */
export function ingressLimitsFrom(env: Record<string, string | undefined>): IngressLimits {
  const d = DEFAULT_INGRESS_LIMITS;
  const ms = (name: string, def: number): number => intVar(env, name, def, 1, 3_600_000);
  return {
    headersTimeoutMs: ms('GANGLION_INGRESS_HEADERS_TIMEOUT_MS', d.headersTimeoutMs),
    requestTimeoutMs: ms('GANGLION_INGRESS_REQUEST_TIMEOUT_MS', d.requestTimeoutMs),
    keepAliveTimeoutMs: ms('GANGLION_INGRESS_KEEPALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs),
    requestDeadlineMs: ms('GANGLION_INGRESS_REQUEST_DEADLINE_MS', d.requestDeadlineMs),
    maxConnections: intVar(env, 'GANGLION_INGRESS_MAX_CONNECTIONS', d.maxConnections, 1, 1_000_000),
    maxJsonDepth: intVar(env, 'GANGLION_INGRESS_MAX_JSON_DEPTH', d.maxJsonDepth, 1, 100_000),
  };
}

/**
 * `GANGLION_INGRESS_MASKED_HEADERS`: the credential headers masked in event data, comma-separated
 * (replaces DEFAULT_MASKED_HEADERS; `none` masks nothing but a verified `authSecret` bearer token).
 */
export function maskedHeadersFrom(env: Record<string, string | undefined>): readonly string[] {
  const v = stringVar(env, 'GANGLION_INGRESS_MASKED_HEADERS');
  if (v === undefined) return DEFAULT_MASKED_HEADERS;
  if (v.trim() === 'none') return [];
  const names = v.split(',').map((h) => h.trim());
  const bad = names.find((h) => !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(h));
  if (bad !== undefined)
    throw new ConfigError(
      `GANGLION_INGRESS_MASKED_HEADERS must be comma-separated header names or "none", got ${JSON.stringify(bad)}`,
    );
  return names;
}

/** The push producers' bounds: `GANGLION_INGRESS_MAX_QUEUED_BYTES`, `GANGLION_INGRESS_MAX_RECORD_BYTES`. */
export function pushProducerOptionsFrom(
  env: Record<string, string | undefined>,
): typeof PUSH_PRODUCER_OPTIONS {
  const d = PUSH_PRODUCER_OPTIONS;
  return {
    ...d,
    maxQueuedBytes: intVar(
      env,
      'GANGLION_INGRESS_MAX_QUEUED_BYTES',
      d.maxQueuedBytes!,
      1_048_576,
      2 ** 40,
    ),
    maxRecordBytes: intVar(
      env,
      'GANGLION_INGRESS_MAX_RECORD_BYTES',
      d.maxRecordBytes!,
      1024,
      2 ** 31,
    ),
  };
}

/**
 * Provider API addresses the spec cannot name: `GANGLION_STRIPE_API_URL`,
 * `GANGLION_BITBUCKET_API_URL`, and `GANGLION_SNS_URL_PATTERN` (the addresses SNS URLs may have).
 */
function apiBasesFrom(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const provider of ['stripe', 'bitbucket']) {
    const v = urlVar(env, `GANGLION_${provider.toUpperCase()}_API_URL`);
    if (v) out[provider] = v;
  }
  // Where SNS SigningCertURL/SubscribeURL may point (a regular expression over `<origin>/`).
  const sns = stringVar(env, 'GANGLION_SNS_URL_PATTERN');
  if (sns) {
    try {
      new RegExp(sns);
    } catch (err) {
      throw new ConfigError(
        `GANGLION_SNS_URL_PATTERN must be a regular expression: ${(err as Error).message}`,
      );
    }
    out[SNS_URL_PATTERN] = sns;
  }
  return out;
}

/**
 * The producers an ingress service publishes events with, their batches counted as producer
 * `events`. Push sources pass PUSH_PRODUCER_OPTIONS (several requests in flight); owned sources
 * keep one request in flight, so their events are written in the order they are sent.
 */
function eventProducers(
  clients: BusClients,
  options: typeof PUSH_PRODUCER_OPTIONS = {},
): BusProducers {
  return clients.producers({ ...options, onBatch: processMetrics().batchObserver('events') });
}

/** The dynamic module of one ingress service: the shared GanglionModule and `service` running source `type`. */
function ingressModule(
  module: Type,
  service: Type,
  type: string,
  load: () => Promise<unknown>,
  config: ServiceConfig,
  env: Record<string, string | undefined>,
): DynamicModule {
  return {
    module,
    imports: [GanglionModule.forRoot(config, env)],
    providers: [
      { provide: SOURCE_TYPE, useValue: type },
      { provide: SOURCE_RUNTIME, useFactory: load },
      service,
    ],
  };
}

/** Runs one push source type's routes for the life of the process. */
@Injectable()
class PushIngressService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly runner: PushIngressRunner<unknown>;
  private readonly producers: BusProducers;
  /** Tells the reconciler which routes are not served and why (the EventSource's RoutesServed). */
  private readonly routeStatus: RouteStatusReporter;
  private applied = false;

  constructor(
    @Inject(SOURCE_RUNTIME) source: unknown,
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(BUS_CLIENTS) clients: BusClients,
    @Inject(KAFKA) private readonly kafka: Kafka,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    this.producers = eventProducers(clients, pushProducerOptionsFrom(env));
    this.routeStatus = new RouteStatusReporter(
      kafka,
      routeStatusTopic(config.resourcesTopic),
      logger,
      // A port this replica cannot bind is reported under its own id (GANGLION_INSTANCE_ID).
      { replica: config.instanceId },
    );
    this.runner = new PushIngressRunner(source as never, {
      host: config.host,
      logger,
      store,
      producers: this.producers,
      secrets: createSecretResolver(config, env),
      defaultRateLimit: rateLimitFrom(env),
      limits: ingressLimitsFrom(env),
      maskedHeaders: maskedHeadersFrom(env),
      // Rotated Secrets (tokens, signing secrets, TLS certificates) apply within this long.
      secretRefreshMs: intVar(env, 'GANGLION_INGRESS_SECRET_REFRESH_MS', 60_000, 0, 86_400_000),
      apiBases: apiBasesFrom(env),
      onRoutes: (routes) => this.routeStatus.report(routes),
      reservedPorts: new Map(
        [
          [config.healthPort, 'health (GANGLION_HEALTH_PORT)'] as const,
          [config.metricsPort, 'metrics (GANGLION_METRICS_PORT)'] as const,
        ].filter(([port]) => port !== 0),
      ),
    });
    health.addReadinessCheck('routes', () => this.applied);
    // Readiness is per replica and shared by every EventSource's Service: a port one route
    // cannot bind does not withdraw the replica (and every other tenant's routes) from them, as
    // a route refused for its Secret does not. It is reported instead: on the EventSource
    // (RoutesServed=False, PortInUse), in the ready answer, and per port with /readyz?port=.
    health.addScopedReadinessCheck('port', (value) => {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        return `port "${value}" is not a port number`;
      return this.runner.notServing(port);
    });
    health.addReadinessNote('ports not bound', () => {
      const failures = this.runner.bindFailures();
      return failures.length
        ? failures.map((f) => `${f.port} (${f.reason}: ${f.code})`).join(', ')
        : undefined;
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    // The route status is a report to the control plane: without its topic (not created yet,
    // no Create ACL) the routes are served all the same, and each report's failure is logged.
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await ensureTopics(admin, [
        routeStatusTopicConfig(
          this.config.resourcesTopic,
          this.config.replicationFactor,
          this.config.topics.minInsyncReplicas,
        ),
      ]);
    } catch (err) {
      this.logger.warn(
        'the route status topic could not be created; routes are served all the same',
        {
          topic: routeStatusTopic(this.config.resourcesTopic),
          error: err,
        },
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await this.runner.start();
    this.applied = true;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.close();
    await this.producers.close();
    await this.routeStatus.close();
  }
}

@Module({})
class PushIngressModule {
  static create(
    type: PushSourceType,
    config: ServiceConfig,
    env: Record<string, string | undefined>,
  ): DynamicModule {
    return ingressModule(
      PushIngressModule,
      PushIngressService,
      type,
      pushSources[type],
      config,
      env,
    );
  }
}

/** The whole `main.ts` of a push ingress service: `await bootstrapPushIngress('github')`. */
export async function bootstrapPushIngress(type: PushSourceType): Promise<void> {
  await bootstrapService(ingressServiceName(type), (config, env) =>
    PushIngressModule.create(type, config, env),
  );
}

/** The prefix of an owned or group ingress type's topics, group and transactional ids. */
function ingressBase(config: ServiceConfig, type: string): string {
  return `${config.resourcesTopic}-ingress-${type}`;
}

/** What an owned or group runner is given: the store, its producers, state topic and Secrets. */
function runnerHost(
  base: string,
  config: ServiceConfig,
  env: Record<string, string | undefined>,
  logger: Logger,
  store: ResourceStoreService,
  producers: BusProducers,
): OwnedHost {
  const kubeconfig = config.kubeconfig;
  return {
    store,
    producers,
    logger,
    stateTopic: `${base}-state`,
    transactionalId: base,
    secrets: createSecretResolver(config, env),
    replicaId: config.instanceId,
    ...(kubeconfig ? { kubeconfig } : {}),
  };
}

/**
 * Runs one owned source type (calendar, file, resource) on exactly one replica at a time: every replica
 * joins the type's consumer group on a one-partition topic; the one assigned the partition runs
 * the sources, and a rebalance (a replica dying or leaving) hands them over.
 */
@Injectable()
class OwnedIngressService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly ownership: GroupOwnership;
  private readonly producers: BusProducers;
  private readonly runner: OwnedRunner;

  constructor(
    @Inject(SOURCE_TYPE) type: OwnedSourceType,
    @Inject(SOURCE_RUNTIME) runnerFor: (host: OwnedHost) => OwnedRunner,
    @Inject(CONFIG) config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) logger: Logger,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(BUS_CLIENTS) clients: BusClients,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    const base = ingressBase(config, type);
    this.producers = eventProducers(clients);
    this.runner = runnerFor(runnerHost(base, config, env, logger, store, this.producers));
    this.ownership = new GroupOwnership(kafka, {
      topic: `${base}-owner`,
      groupId: base,
      logger,
      // How long a dead owner keeps its assignment.
      sessionTimeoutMs: intVar(env, 'GANGLION_OWNERSHIP_SESSION_MS', 10_000, 6000, 300_000),
      replicationFactor: config.replicationFactor,
      onAcquire: () => this.runner.start(),
      onRelease: () => this.runner.stop(),
    });
    health.addReadinessCheck('ownership-group', () => this.ownership.joined);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ownership.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ownership.stop();
    await this.producers.close();
  }
}

@Module({})
class OwnedIngressModule {
  static create(
    type: OwnedSourceType,
    config: ServiceConfig,
    env: Record<string, string | undefined>,
  ): DynamicModule {
    return ingressModule(
      OwnedIngressModule,
      OwnedIngressService,
      type,
      ownedSources[type],
      config,
      env,
    );
  }
}

/** The whole `main.ts` of an owned ingress service: `await bootstrapOwnedIngress('calendar')`. */
export async function bootstrapOwnedIngress(type: OwnedSourceType): Promise<void> {
  await bootstrapService(ingressServiceName(type), (config, env) =>
    OwnedIngressModule.create(type, config, env),
  );
}

/**
 * Runs one `group` broker source type (kafka, nats, redisStream) on every replica at once: each
 * replica runs every configured event of the type and the broker's consumer group (queue group,
 * stream group) splits the messages among the replicas.
 */
@Injectable()
class GroupIngressService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly producers: BusProducers;
  private readonly runner: OwnedRunner;
  private started = false;

  constructor(
    @Inject(SOURCE_TYPE) type: GroupSourceType,
    @Inject(SOURCE_RUNTIME) runnerFor: (host: OwnedHost) => OwnedRunner,
    @Inject(CONFIG) config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) logger: Logger,
    @Inject(BUS_CLIENTS) clients: BusClients,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    this.producers = eventProducers(clients);
    this.runner = runnerFor(
      runnerHost(ingressBase(config, type), config, env, logger, store, this.producers),
    );
    health.addReadinessCheck('sources', () => this.started);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.runner.start();
    this.started = true;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
    await this.producers.close();
  }
}

@Module({})
class GroupIngressModule {
  static create(
    type: GroupSourceType,
    config: ServiceConfig,
    env: Record<string, string | undefined>,
  ): DynamicModule {
    return ingressModule(
      GroupIngressModule,
      GroupIngressService,
      type,
      groupSources[type],
      config,
      env,
    );
  }
}

/** The whole `main.ts` of a group ingress service: `await bootstrapGroupIngress('kafka')`. */
export async function bootstrapGroupIngress(type: GroupSourceType): Promise<void> {
  await bootstrapService(ingressServiceName(type), (config, env) =>
    GroupIngressModule.create(type, config, env),
  );
}
