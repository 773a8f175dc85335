import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from '@ganglion/eventbus';
import { createSecretResolver } from '@ganglion/k8s';
import { CONFIG, ENV, HealthService, KAFKA, LOGGER, ResourceStoreService, type ServiceConfig } from '@ganglion/nest';
import type { Logger } from '@ganglion/telemetry';
import { TriggerRunner, type TriggerSettings } from '@ganglion/triggers';

export const TRIGGER_SETTINGS = Symbol.for('ganglion.trigger.settings');

/** The trigger stage (libs/triggers/src/runner) in the Nest application's lifecycle, with its readiness check. */
@Injectable()
export class TriggerProvider implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly runner: TriggerRunner;

  constructor(
    @Inject(CONFIG) config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(TRIGGER_SETTINGS) settings: TriggerSettings,
    @Inject(LOGGER) logger: Logger,
    @Inject(KAFKA) kafka: Kafka,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    const secrets = createSecretResolver(config, env);
    this.runner = new TriggerRunner({ kafka, store, logger, secrets, settings });
    health.addReadinessCheck('consumer', () => this.runner.ready);
  }

  onApplicationBootstrap(): Promise<void> {
    return this.runner.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.runner.stop();
  }
}
