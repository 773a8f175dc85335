import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from '@ganglion/eventbus';
import { CONFIG, HealthService, KAFKA, LOGGER, ResourceStoreService, type ServiceConfig } from '@ganglion/nest';
import { SensorRunner, type SensorSettings } from '@ganglion/sensors';
import type { Logger } from '@ganglion/telemetry';

export const SENSOR_SETTINGS = Symbol.for('ganglion.sensor.settings');

/** The sensor stage (libs/sensors) in the Nest application's lifecycle, with its readiness check. */
@Injectable()
export class SensorProvider implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly runner: SensorRunner;

  constructor(
    @Inject(CONFIG) config: ServiceConfig,
    @Inject(SENSOR_SETTINGS) settings: SensorSettings,
    @Inject(LOGGER) logger: Logger,
    @Inject(KAFKA) kafka: Kafka,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    // Every bus on the installation's cluster for now; a per-cluster client lookup goes here.
    this.runner = new SensorRunner({ kafkaFor: () => kafka, store, logger, settings, instanceId: config.instanceId });
    health.addReadinessCheck('consumer', () => this.runner.ready);
  }

  onApplicationBootstrap(): Promise<void> {
    return this.runner.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.runner.stop();
  }
}
