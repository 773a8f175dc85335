import type { KubeConfig } from '@ganglion/k8s';
import {
  ensureTopics,
  RouteStatusView,
  routeStatusTopic,
  routeStatusTopicConfig,
  type BusClients,
  type ResourceStore,
  type TopicPolicy,
} from '@ganglion/eventbus';
import { KubeRest, LeaderElector, describeError, loadKubeConfig } from '@ganglion/k8s';
import type { Logger } from '@ganglion/telemetry';
import { KubernetesController } from './kubernetes.controller.js';
import { KafkaResourcePublisher } from './resource.publisher.js';

/** Kubernetes-mode settings (parsed once from the environment by the reconciler service). */
export interface KubernetesSettings {
  /** Kubeconfig file (`GANGLION_KUBECONFIG`); in-cluster or `$KUBECONFIG` when unset. */
  kubeconfig: string | undefined;
  /** Namespaced install (`GANGLION_NAMESPACE`): watch only this namespace. Unset: cluster-wide. */
  namespace: string | undefined;
  /** `GANGLION_LEADER_ELECTION` (default true): run only while holding the Lease. */
  leaderElection: boolean;
  /** Lease namespace (`GANGLION_LEASE_NAMESPACE`, else `POD_NAMESPACE`, else the watched namespace, else `default`). */
  leaseNamespace: string;
  /** `GANGLION_LEASE_NAME` (default `ganglion-reconciler`). */
  leaseName: string;
  /** `GANGLION_LEASE_DURATION_SECONDS` (default 15). */
  leaseDurationSeconds: number;
  /** `GANGLION_LEASE_RENEW_DEADLINE_SECONDS` (default 10), in ms. */
  renewDeadlineMs: number;
  /** `GANGLION_LEASE_RETRY_PERIOD_SECONDS` (default 2), in ms. */
  retryPeriodMs: number;
  /** `GANGLION_INGRESS_SELECTOR` (`k=v,k=v`): labels of the ingress pods. */
  ingressSelector: Record<string, string>;
  /** `GANGLION_INGRESS_NAMESPACE`: where the ingress pods run when not in each resource's namespace. */
  ingressNamespace: string | undefined;
  /** `GANGLION_RESYNC_SECONDS` (default 300; 0 disables), in ms. */
  resyncMs: number;
  /** `GANGLION_LABEL_SELECTOR`: manage only matching objects (sharding, or coexisting installs). */
  labelSelector: string | undefined;
}

export interface KubernetesReconcilerOptions extends KubernetesSettings {
  /** The compacted resources topic the data plane reads. */
  resourcesTopic: string;
  /** Partitions and replication factor of the topics created for an EventBus. */
  partitions: number;
  replicationFactor: number;
  /** How bus topics are created (replication, min.insync.replicas, size and retention); defaults when unset. */
  topics?: TopicPolicy;
  /** This replica's identity (the Lease holder). */
  instanceId: string;
  logger: Logger;
}

/**
 * Kubernetes mode: runs the {@link KubernetesController} while this replica holds the Lease
 * (or always, with leader election off). Losing the lease stops the controller; winning it
 * again starts a fresh one (new informers, full resync).
 */
export class KubernetesReconciler {
  private readonly settings: KubernetesReconcilerOptions;
  private readonly logger: Logger;
  private kc: KubeConfig | undefined;
  private publisher: KafkaResourcePublisher | undefined;
  private controller: KubernetesController | undefined;
  /** The routes the push ingress does not serve (read while leading; started once). */
  private routeStatus: RouteStatusView | undefined;
  private elector: LeaderElector | undefined;
  private transition: Promise<void> = Promise.resolve();

  constructor(
    private readonly clients: BusClients,
    private readonly store: ResourceStore,
    options: KubernetesReconcilerOptions,
  ) {
    this.settings = options;
    this.logger = options.logger;
  }

  /** Ready: not leading, or leading with every informer synced. */
  get synced(): boolean {
    return !this.controller || this.controller.synced;
  }

  start(): void {
    this.kc = loadKubeConfig(this.settings.kubeconfig);
    this.publisher = new KafkaResourcePublisher(
      this.clients,
      this.store,
      {
        resourcesTopic: this.settings.resourcesTopic,
        partitions: this.settings.partitions,
        replicationFactor: this.settings.replicationFactor,
        ...(this.settings.topics ? { topics: this.settings.topics } : {}),
      },
      this.logger,
    );
    if (!this.settings.leaderElection) {
      this.lead();
      return;
    }
    const s = this.settings;
    this.elector = new LeaderElector(new KubeRest(this.kc), {
      namespace: s.leaseNamespace,
      name: s.leaseName,
      identity: this.settings.instanceId,
      leaseDurationSeconds: s.leaseDurationSeconds,
      renewDeadlineMs: s.renewDeadlineMs,
      retryPeriodMs: s.retryPeriodMs,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: () => this.follow(),
      onError: (err) => this.logger.warn('leader election', { error: describeError(err) }),
    });
    this.logger.info('campaigning for leadership', {
      lease: `${s.leaseNamespace}/${s.leaseName}`,
      identity: this.settings.instanceId,
    });
    this.elector.start();
  }

  private lead(): void {
    this.transition = this.transition.then(async () => {
      if (this.controller) return;
      this.logger.info('started leading', { identity: this.settings.instanceId });
      this.publisher!.reset();
      // Without it (its topic cannot be created or read) the controller runs, without RoutesServed.
      if (!this.routeStatus)
        this.routeStatus = await this.startRouteStatus().catch((err: unknown) => {
          this.logger.warn('route status unavailable; EventSources get no RoutesServed condition', {
            error: describeError(err),
          });
          return undefined;
        });
      this.controller = new KubernetesController(this.kc!, this.publisher!, {
        namespace: this.settings.namespace,
        ingressSelector: this.settings.ingressSelector,
        ingressNamespace: this.settings.ingressNamespace,
        resyncMs: this.settings.resyncMs,
        labelSelector: this.settings.labelSelector,
        resourcesTopic: this.settings.resourcesTopic,
        routeStatus: this.routeStatus,
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
      this.logger.warn('stopped leading', { identity: this.settings.instanceId });
      await c.stop();
    });
  }

  /** Creates the route status topic if missing and starts reading it. */
  private async startRouteStatus(): Promise<RouteStatusView> {
    const kafka = this.clients.installation;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        routeStatusTopicConfig(
          this.settings.resourcesTopic,
          this.settings.replicationFactor,
          this.settings.topics?.minInsyncReplicas ?? 0,
        ),
      ]);
    } finally {
      await admin.disconnect();
    }
    const view = new RouteStatusView(
      kafka,
      routeStatusTopic(this.settings.resourcesTopic),
      this.logger,
    );
    await view.start();
    return view;
  }

  async stop(): Promise<void> {
    if (this.elector) await this.elector.stop();
    else this.follow();
    await this.transition;
    await this.routeStatus?.stop();
    await this.publisher?.close();
  }
}
