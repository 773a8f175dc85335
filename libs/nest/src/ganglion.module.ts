import {
  Global,
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { BusClients, consumerActivity, installationSecurity } from '@ganglion/eventbus';
import { createSecretResolver, type SecretResolver } from '@ganglion/k8s';
import { createLogger } from '@ganglion/telemetry';
import type { ServiceConfig } from './config.js';
import { HealthService } from './health.service.js';
import { MetricsService } from './metrics.service.js';
import { ResourceStoreService } from './resource-store.service.js';
import { BUS_CLIENTS, CONFIG, ENV, KAFKA, LOGGER } from './tokens.js';

/**
 * The shared module every service imports once: configuration, logger, the Kafka clients (one
 * per cluster, {@link BusClients}; `KAFKA` is the installation cluster's), the resource store,
 * health endpoints and Prometheus metrics.
 */
@Global()
@Module({})
export class GanglionModule implements OnApplicationShutdown {
  constructor(@Inject(BUS_CLIENTS) private readonly clients: BusClients) {}

  static forRoot(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    const logger = createLogger(
      config.service,
      { level: config.logLevel },
      { instance: config.instanceId },
    );
    // Every consumer of the process, on every cluster, reports its batches in processing (liveness, metrics).
    // An EventBus's own credentials (spec.kafka.tls/sasl) are read from its Secrets here.
    let secrets: SecretResolver | undefined;
    const security = installationSecurity(config.kafkaSecurity);
    const clients = new BusClients({
      brokers: config.brokers,
      clientId: `ganglion-${config.service}-${config.instanceId}`,
      logger,
      activity: consumerActivity,
      ...(security ? { security } : {}),
      secrets: () => (secrets ??= createSecretResolver(config, env)),
    });
    return {
      module: GanglionModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: ENV, useValue: env },
        { provide: LOGGER, useValue: logger },
        { provide: BUS_CLIENTS, useValue: clients },
        { provide: KAFKA, useValue: clients.installation },
        HealthService,
        ResourceStoreService,
        MetricsService,
      ],
      exports: [
        CONFIG,
        ENV,
        LOGGER,
        BUS_CLIENTS,
        KAFKA,
        HealthService,
        ResourceStoreService,
        MetricsService,
      ],
    };
  }

  /** Global modules shut down after the modules that use them: the services' producers are done by now. */
  async onApplicationShutdown(): Promise<void> {
    await this.clients.close();
  }
}
