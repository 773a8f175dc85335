import { createServer, type Server } from 'node:http';
import {
  Inject,
  Injectable,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import {
  eventBusTopic,
  namespaceOf,
  type EventBus,
  type EventSource,
  type Sensor,
} from '@ganglion/api';
import {
  busTopics,
  consumerActivity,
  ConsumerLagMonitor,
  type BusClients,
  type LagSample,
} from '@ganglion/eventbus';
import {
  processMetrics,
  shutdownTelemetry,
  type EventSourceLabels,
  type GanglionMetrics,
  type Logger,
  type TriggerLabels,
} from '@ganglion/telemetry';
import type { ServiceConfig } from './config.js';
import { HealthService } from './health.service.js';
import { ResourceStoreService } from './resource-store.service.js';
import { BUS_CLIENTS, CONFIG, LOGGER } from './tokens.js';

/** Fields of an EventSource spec that are not event types. */
const NON_SOURCE_FIELDS = new Set([
  'eventBusName',
  'template',
  'service',
  'replicas',
  'replica',
  'style',
]);

/**
 * Prometheus `/metrics` on the metrics port (7777, like Argo's eventsource and sensor pods),
 * the series of every loaded resource created at zero (and dropped when it is deleted), the
 * consumer-lag and dead-letter-depth gauges, the stalled-consumer liveness check, and the
 * flush of buffered spans on shutdown.
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  readonly metrics: GanglionMetrics;
  private server: Server | undefined;
  /** One lag monitor per cluster with buses (BusClients key): lag and DLQ depth are read where the consumers run. */
  private readonly monitors = new Map<string, ConsumerLagMonitor>();
  private readonly lagByCluster = new Map<string, LagSample[]>();
  private unsubscribe: (() => void) | undefined;
  private lagSeries = new Set<string>();
  private busySeries = new Set<string>();

  constructor(
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly health: HealthService,
    // Absent in a service without Kafka (admission): no resource series, no lag monitor.
    @Optional() @Inject(BUS_CLIENTS) private readonly clients?: BusClients,
    @Optional() private readonly store?: ResourceStoreService,
  ) {
    this.metrics = processMetrics(config.service);
  }

  async onModuleInit(): Promise<void> {
    if (this.config.metricsPort === 0) return;
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      this.recordBusy();
      this.metrics.render().then(
        ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType }).end(body),
        (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.config.metricsPort, this.config.host, () => resolve());
    });
    this.logger.info('metrics endpoint listening', {
      port: this.config.metricsPort,
      path: '/metrics',
    });
  }

  onApplicationBootstrap(): void {
    const store = this.store;
    const service = this.config.service;
    const lagClients = service === 'sensor' || service === 'trigger' ? this.clients : undefined;
    if (store) {
      const refresh = (): void => {
        this.refreshSeries(store);
        if (lagClients) this.syncLagMonitors(lagClients, store, `ganglion-${service}`);
      };
      refresh();
      this.unsubscribe = store.onChange(refresh);
    }
    const stallMs = this.config.livenessStallSeconds * 1000;
    if (stallMs > 0)
      this.health.addLivenessCheck('consumer-progress', () => {
        const stuck = consumerActivity.busy().filter((b) => b.ms >= stallMs);
        return stuck.length
          ? `no progress for ${Math.round(stuck[0]!.ms / 1000)}s with records waiting on ${stuck.map((b) => `${b.topic}[${b.partition}]`).join(', ')}`
          : undefined;
      });
  }

  /** The event type an ingress service serves (`ingress-webhook` → `webhook`). */
  private ingressType(): string | undefined {
    const m = /^ingress-(.+)$/.exec(this.config.service);
    return m?.[1];
  }

  /** Creates the labelled series of the resources this service works for. */
  private refreshSeries(store: ResourceStoreService): void {
    const type = this.ingressType();
    if (type) {
      const list: EventSourceLabels[] = [];
      for (const es of store.list<EventSource>('EventSource')) {
        const spec = es.spec as Record<string, unknown>;
        for (const [field, events] of Object.entries(spec)) {
          if (
            NON_SOURCE_FIELDS.has(field) ||
            field !== type ||
            typeof events !== 'object' ||
            events === null
          )
            continue;
          for (const eventName of Object.keys(events))
            list.push({
              namespace: namespaceOf(es),
              eventsource_name: es.metadata.name,
              event_name: eventName,
            });
        }
      }
      this.metrics.setEventSources(list);
    }
    if (this.config.service === 'sensor' || this.config.service === 'trigger') {
      const list: TriggerLabels[] = [];
      for (const s of store.list<Sensor>('Sensor'))
        for (const t of s.spec.triggers ?? [])
          list.push({
            namespace: namespaceOf(s),
            sensor_name: s.metadata.name,
            trigger_name: t.template?.name ?? '',
          });
      this.metrics.setTriggers(list, {
        actions: this.config.service === 'trigger',
        joins: this.config.service === 'sensor',
      });
    }
  }

  /** A lag monitor on the installation's cluster and on every cluster an EventBus names; none on a cluster no bus uses any more. */
  private syncLagMonitors(
    clients: BusClients,
    store: ResourceStoreService,
    groupPrefix: string,
  ): void {
    const buses = store.list<EventBus>('EventBus').filter((b) => b.spec.kafka);
    const wanted = new Set([
      clients.installationCluster,
      ...buses.map((b) => clients.clusterOf(b)),
    ]);
    for (const [cluster, monitor] of this.monitors) {
      if (wanted.has(cluster)) continue;
      this.monitors.delete(cluster);
      this.lagByCluster.delete(cluster);
      void monitor.stop();
    }
    for (const cluster of wanted) {
      if (this.monitors.has(cluster)) continue;
      const monitor = new ConsumerLagMonitor({
        kafka: clients.client(cluster),
        groupPrefix,
        // The client id GanglionModule gives the process's Kafka clients.
        clientId: `ganglion-${this.config.service}-${this.config.instanceId}`,
        logger: this.logger,
        intervalMs: this.config.lagPollMs,
        onSamples: (samples) => {
          if (!this.monitors.has(cluster)) return;
          this.lagByCluster.set(cluster, samples);
          this.recordLag([...this.lagByCluster.values()].flat());
        },
        depthTopics: () =>
          this.config.service === 'trigger'
            ? [
                ...new Set(
                  store
                    .list<EventBus>('EventBus')
                    .filter((b) => b.spec.kafka && clients.clusterOf(b) === cluster)
                    .map((b) => busTopics(eventBusTopic(b)).dlq),
                ),
              ]
            : [],
        onDepth: (topic, depth) => this.metrics.dlqDepth.set({ topic }, depth),
      });
      this.monitors.set(cluster, monitor);
      monitor.start();
    }
  }

  /** The age of each batch in processing, as of this scrape. */
  private recordBusy(): void {
    const next = new Set<string>();
    for (const b of consumerActivity.busy()) {
      const labels = { group: b.group, topic: b.topic, partition: String(b.partition) };
      next.add(JSON.stringify(labels));
      this.metrics.consumerBatchAge.set(labels, b.ms / 1000);
    }
    for (const key of this.busySeries)
      if (!next.has(key))
        this.metrics.consumerBatchAge.remove(JSON.parse(key) as Record<string, string>);
    this.busySeries = next;
  }

  private recordLag(samples: LagSample[]): void {
    const next = new Set<string>();
    for (const s of samples) {
      const labels = { group: s.group, topic: s.topic, partition: String(s.partition) };
      next.add(JSON.stringify(labels));
      this.metrics.consumerLag.set(labels, s.lag);
    }
    for (const key of this.lagSeries)
      if (!next.has(key)) {
        const labels = JSON.parse(key) as Record<string, string>;
        this.metrics.consumerLag.remove(labels);
      }
    this.lagSeries = next;
  }

  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all([...this.monitors.values()].map((m) => m.stop()));
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    await shutdownTelemetry();
  }
}
