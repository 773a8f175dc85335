import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { BusClients } from '@ganglion/eventbus';
import { createSecretResolver } from '@ganglion/k8s';
import {
  BUS_CLIENTS,
  CONFIG,
  ENV,
  HealthService,
  LOGGER,
  ResourceStoreService,
  type ServiceConfig,
} from '@ganglion/nest';
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
    @Inject(BUS_CLIENTS) clients: BusClients,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    const secrets = createSecretResolver(config, env);
    this.runner = new TriggerRunner({
      clients,
      store,
      logger,
      secrets,
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
