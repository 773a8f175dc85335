import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { BusClients } from '@ganglion/eventbus';
import {
  BUS_CLIENTS,
  CONFIG,
  HealthService,
  LOGGER,
  ResourceStoreService,
  type ServiceConfig,
} from '@ganglion/nest';
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
    @Inject(BUS_CLIENTS) clients: BusClients,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    // Each bus's loop runs on the bus's own cluster (BusClients).
    this.runner = new SensorRunner({
      clients,
      store,
      logger,
      settings,
      instanceId: config.instanceId,
    });
    health.addReadinessCheck('consumer', () => this.runner.ready);
  }

  onApplicationBootstrap(): Promise<void> {
    return this.runner.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.runner.stop();
  }
}
