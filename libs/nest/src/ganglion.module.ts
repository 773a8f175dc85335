import { Global, Module, type DynamicModule } from '@nestjs/common';
import { consumerActivity, createKafka } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import type { ServiceConfig } from './config.js';
import { HealthService } from './health.service.js';
import { MetricsService } from './metrics.service.js';
import { ResourceStoreService } from './resource-store.service.js';
import { CONFIG, ENV, KAFKA, LOGGER } from './tokens.js';

/**
 * The shared module every service imports once: configuration, logger, Kafka client, the
 * resource store, health endpoints and Prometheus metrics.
 */
@Global()
@Module({})
export class GanglionModule {
  static forRoot(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    const logger = createLogger(config.service, { level: config.logLevel }, { instance: config.instanceId });
    // Every consumer of the process reports its batches in processing (liveness, metrics).
    const kafka = consumerActivity.watch(createKafka({ brokers: config.brokers, clientId: `ganglion-${config.service}-${config.instanceId}`, logger }));
    return {
      module: GanglionModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: ENV, useValue: env },
        { provide: LOGGER, useValue: logger },
        { provide: KAFKA, useValue: kafka },
        HealthService,
        ResourceStoreService,
        MetricsService,
      ],
      exports: [CONFIG, ENV, LOGGER, KAFKA, HealthService, ResourceStoreService, MetricsService],
    };
  }
}
