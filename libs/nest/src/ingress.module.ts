import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from '@ganglion/eventbus';
import { BusProducers, pushSources, PushIngressRunner, type PushSourceType } from '@ganglion/eventsources';
import { LocalSecretResolver } from '@ganglion/k8s';
import type { Logger } from '@ganglion/telemetry';
import { bootstrapService } from './bootstrap.js';
import { ConfigError, type ServiceConfig } from './config.js';
import { GanglionModule } from './ganglion.module.js';
import { HealthService } from './health.service.js';
import { ResourceStoreService } from './resource-store.service.js';
import { CONFIG, ENV, KAFKA, LOGGER } from './tokens.js';

const SOURCE_TYPE = Symbol.for('ganglion.ingress.type');

/** Service name of an ingress type: `ingress-<type lower-cased>` (`storageGrid` → `ingress-storagegrid`). */
export function ingressServiceName(type: string): string {
  return `ingress-${type.toLowerCase()}`;
}

/** `GANGLION_INGRESS_RATE_LIMIT`: default requests/s per route and replica (0 = unlimited). */
function rateLimitFrom(env: Record<string, string | undefined>): number {
  const raw = env['GANGLION_INGRESS_RATE_LIMIT'];
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`GANGLION_INGRESS_RATE_LIMIT must be a non-negative number, got "${raw}"`);
  return n;
}

/** Runs one push source type's routes for the life of the process. */
@Injectable()
export class PushIngressService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly runner: PushIngressRunner<unknown>;
  private readonly producers: BusProducers;
  private applied = false;

  constructor(
    @Inject(SOURCE_TYPE) type: PushSourceType,
    @Inject(CONFIG) config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) logger: Logger,
    @Inject(KAFKA) kafka: Kafka,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    this.producers = new BusProducers(kafka, `ganglion-${config.service}-${config.instanceId}`, logger);
    this.runner = new PushIngressRunner(pushSources[type] as never, {
      host: config.host,
      logger,
      store,
      producers: this.producers,
      secrets: new LocalSecretResolver(config.secretsDir, env),
      defaultRateLimit: rateLimitFrom(env),
    });
    health.addReadinessCheck('routes', () => this.applied);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.runner.start();
    this.applied = true;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.close();
    await this.producers.close();
  }
}

@Module({})
export class PushIngressModule {
  static create(type: PushSourceType, config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    return {
      module: PushIngressModule,
      imports: [GanglionModule.forRoot(config, env)],
      providers: [{ provide: SOURCE_TYPE, useValue: type }, PushIngressService],
    };
  }
}

/** The whole `main.ts` of a push ingress service: `await bootstrapPushIngress('github')`. */
export async function bootstrapPushIngress(type: PushSourceType): Promise<void> {
  await bootstrapService(ingressServiceName(type), (config, env) => PushIngressModule.create(type, config, env));
}
