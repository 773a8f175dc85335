import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { eventBusTopic, namespaceOf, DEFAULT_EVENTBUS, type EventBus, type EventSource, type WebhookEventSource } from '@ganglion/api';
import { BatchingProducer, CloudEvent, createKafka, encodeCloudEvent, parseBrokers } from '@ganglion/eventbus';
import { DEFAULT_MAX_PAYLOAD, HttpIngress, pushSources, type Route } from '@ganglion/eventsources';
import { LocalSecretResolver } from '@ganglion/k8s';
import { CONFIG, ENV, HealthService, KAFKA, LOGGER, ResourceStoreService, type ServiceConfig } from '@ganglion/nest';
import { processMetrics, withSendSpan, type Logger } from '@ganglion/telemetry';
import type { Kafka } from '@ganglion/eventbus';

const SOURCE_TYPE = 'webhook' as const;

/**
 * Runs the `webhook` EventSources found on the resources topic: one route per configured event,
 * each publishing CloudEvents (binary mode) to its EventBus's event topic through a batching,
 * idempotent producer. A request is answered 200 only after the bus acknowledged its event.
 */
@Injectable()
export class WebhookIngress implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly ingress: HttpIngress;
  private readonly producers = new Map<string, BatchingProducer>();
  private readonly secrets: LocalSecretResolver;
  private applying: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private applied = false;

  constructor(
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly store: ResourceStoreService,
    health: HealthService,
  ) {
    this.ingress = new HttpIngress({ host: config.host, logger });
    this.secrets = new LocalSecretResolver(config.secretsDir, env);
    health.addReadinessCheck('routes', () => this.applied);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.store.onChange(() => this.schedule());
    await this.apply();
    this.applied = true;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.applying = this.applying.then(() => this.apply()).catch((err: unknown) => this.logger.error('applying routes failed', { error: err }));
    }, 50);
  }

  private producerFor(bus: EventBus): BatchingProducer {
    const url = bus.spec.kafka?.url ?? '';
    let producer = this.producers.get(url);
    if (!producer) {
      const kafka = url ? createKafka({ brokers: parseBrokers(url), clientId: `ganglion-ingress-webhook-${this.config.instanceId}`, logger: this.logger }) : this.kafka;
      this.producers.set(url, (producer = new BatchingProducer(kafka, { logger: this.logger, onBatch: processMetrics().batchObserver('events') })));
    }
    return producer;
  }

  /** Recomputes the routes from the current EventSources. */
  private async apply(): Promise<void> {
    const routes: Route[] = [];
    for (const es of this.store.list<EventSource>('EventSource')) {
      const events = es.spec.webhook;
      if (!events) continue;
      const ns = namespaceOf(es);
      const busName = es.spec.eventBusName || DEFAULT_EVENTBUS;
      const bus = this.store.get<EventBus>('EventBus', ns, busName);
      if (!bus?.spec.kafka) {
        this.logger.warn('EventSource not served: its EventBus does not exist', { eventSource: `${ns}/${es.metadata.name}`, eventBus: `${ns}/${busName}` });
        continue;
      }
      for (const [eventName, cfg] of Object.entries(events)) {
        const route = await this.route(es, eventName, cfg, bus);
        if (route) routes.push(route);
      }
    }
    await this.ingress.setRoutes(routes);
    this.logger.info('routes applied', { routes: routes.map((r) => `${r.method} :${r.port}${r.endpoint} → ${r.id}`) });
  }

  private async route(es: EventSource, eventName: string, cfg: WebhookEventSource, bus: EventBus): Promise<Route | undefined> {
    const ns = namespaceOf(es);
    const id = `${ns}/${es.metadata.name}:${eventName}`;
    let bearerToken: string | undefined;
    if (cfg.authSecret) {
      try {
        bearerToken = await this.secrets.resolve(ns, cfg.authSecret);
      } catch (err) {
        this.logger.error('route not served: authSecret cannot be resolved', { route: id, error: err });
        return undefined;
      }
    }
    const plugin = pushSources[SOURCE_TYPE];
    const topic = eventBusTopic(bus);
    const producer = this.producerFor(bus);
    const source = es.metadata.name;
    const labels = { namespace: ns, eventsource_name: source, event_name: eventName };
    return {
      id,
      port: Number(cfg.port),
      endpoint: cfg.endpoint,
      method: cfg.method,
      maxPayloadSize: cfg.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD,
      ...(bearerToken !== undefined ? { bearerToken } : {}),
      handle: (request) => plugin.handle(cfg, request),
      publish: async (outcome) => {
        // Argo's CloudEvent: id a UUID as 32 hex digits, type the source type, source the
        // EventSource name, subject the event name.
        const event = new CloudEvent<unknown>({
          id: outcome.id ?? randomUUID().replace(/-/g, ''),
          type: SOURCE_TYPE,
          source,
          subject: eventName,
          time: new Date().toISOString(),
          datacontenttype: 'application/json',
          data: outcome.data,
        });
        const record = encodeCloudEvent(event, `${source}.${eventName}`);
        const started = performance.now();
        try {
          await withSendSpan(topic, record.headers, { messageId: event.id, key: record.key }, () => producer.send({ topic, ...record }));
          processMetrics().eventPublished(labels, true, performance.now() - started);
        } catch (err) {
          processMetrics().eventPublished(labels, false, performance.now() - started);
          throw err;
        }
      },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.ingress.close();
    await Promise.all([...this.producers.values()].map((p) => p.close()));
  }
}
