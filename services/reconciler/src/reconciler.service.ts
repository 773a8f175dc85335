import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DirectoryReconciler, KubernetesReconciler } from '@ganglion/control';
import type { BusClients } from '@ganglion/eventbus';
import {
  BUS_CLIENTS,
  CONFIG,
  HealthService,
  LOGGER,
  ResourceStoreService,
  type ServiceConfig,
} from '@ganglion/nest';
import type { Logger } from '@ganglion/telemetry';
import type { ReconcilerSettings } from './reconciler.config.js';

export const RECONCILER_SETTINGS = Symbol.for('ganglion.reconciler-settings');

/** Runs the reconciler of the configured mode (libs/control) for the life of the process. */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly reconciler: DirectoryReconciler | KubernetesReconciler;

  constructor(
    @Inject(RECONCILER_SETTINGS) settings: ReconcilerSettings,
    @Inject(CONFIG) config: ServiceConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(BUS_CLIENTS) clients: BusClients,
    store: ResourceStoreService,
    health: HealthService,
  ) {
    const common = {
      resourcesTopic: config.resourcesTopic,
      partitions: config.partitions,
      replicationFactor: config.replicationFactor,
      topics: config.topics,
      logger,
    };
    const reconciler =
      settings.mode === 'directory'
        ? new DirectoryReconciler(clients, store, { ...common, dir: settings.dir })
        : new KubernetesReconciler(clients, store, {
            ...common,
            ...settings.kubernetes,
            instanceId: config.instanceId,
          });
    health.addReadinessCheck(
      settings.mode === 'directory' ? 'initial-sync' : 'kubernetes',
      () => reconciler.synced,
    );
    this.reconciler = reconciler;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reconciler.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.reconciler.stop();
  }
}
