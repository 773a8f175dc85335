import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { BusClients } from '@ganglion/eventbus';
import { LeaderElector, describeError, loadKubeConfig } from '@ganglion/k8s';
import { BUS_CLIENTS, CONFIG, ENV, HealthService, LOGGER, ResourceStoreService, type ServiceConfig } from '@ganglion/nest';
import type { Logger } from '@ganglion/telemetry';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseKubernetesSettings, type KubernetesSettings } from './kubernetes.config.js';
import { KubernetesController } from './kubernetes.controller.js';
import { KafkaResourcePublisher } from './resource.publisher.js';

/**
 * Kubernetes mode: runs the {@link KubernetesController} while this replica holds the Lease
 * (or always, with leader election off). Losing the lease stops the controller; winning it
 * again starts a fresh one (new informers, full resync).
 */
@Injectable()
export class KubernetesReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly settings: KubernetesSettings;
  private kc: KubeConfig | undefined;
  private publisher: KafkaResourcePublisher | undefined;
  private controller: KubernetesController | undefined;
  private elector: LeaderElector | undefined;
  private transition: Promise<void> = Promise.resolve();

  constructor(
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(BUS_CLIENTS) private readonly clients: BusClients,
    private readonly store: ResourceStoreService,
    health: HealthService,
  ) {
    this.settings = parseKubernetesSettings(env);
    health.addReadinessCheck('kubernetes', () => !this.controller || this.controller.synced);
  }

  onApplicationBootstrap(): void {
    this.kc = loadKubeConfig(this.settings.kubeconfig);
    this.publisher = new KafkaResourcePublisher(
      this.clients,
      this.store,
      { resourcesTopic: this.config.resourcesTopic, partitions: this.config.partitions, replicationFactor: this.config.replicationFactor },
      this.logger,
    );
    if (!this.settings.leaderElection) {
      this.lead();
      return;
    }
    const s = this.settings;
    this.elector = new LeaderElector(this.kc, {
      namespace: s.leaseNamespace,
      name: s.leaseName,
      identity: this.config.instanceId,
      leaseDurationSeconds: s.leaseDurationSeconds,
      renewDeadlineMs: s.renewDeadlineMs,
      retryPeriodMs: s.retryPeriodMs,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: () => this.follow(),
      onError: (err) => this.logger.warn('leader election', { error: describeError(err) }),
    });
    this.logger.info('campaigning for leadership', { lease: `${s.leaseNamespace}/${s.leaseName}`, identity: this.config.instanceId });
    this.elector.start();
  }

  private lead(): void {
    this.transition = this.transition.then(async () => {
      if (this.controller) return;
      this.logger.info('started leading', { identity: this.config.instanceId });
      this.publisher!.reset();
      this.controller = new KubernetesController(this.kc!, this.publisher!, {
        namespace: this.settings.namespace,
        ingressSelector: this.settings.ingressSelector,
        ingressNamespace: this.settings.ingressNamespace,
        resyncMs: this.settings.resyncMs,
        labelSelector: this.settings.labelSelector,
        resourcesTopic: this.config.resourcesTopic,
        logger: this.logger,
      });
      await this.controller.start();
    });
  }

  private follow(): void {
    this.transition = this.transition.then(async () => {
      const c = this.controller;
      this.controller = undefined;
      if (!c) return;
      this.logger.warn('stopped leading', { identity: this.config.instanceId });
      await c.stop();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.elector) await this.elector.stop();
    else this.follow();
    await this.transition;
    await this.publisher?.close();
  }
}
