import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { eventBusTopic, namespaceOf, DEFAULT_EVENTBUS, type EventBus, type Sensor } from '@ganglion/api';
import { evaluateSensorEvent, RECORD_VERSION, type ActionRecord, type OutcomeRecord, type SensorEvent } from '@ganglion/core';
import { busTopics, decodeCloudEvent, eventData, headerMap, TransactionalLoop, type ConsumedBatch, type Kafka, type OutRecord } from '@ganglion/eventbus';
import { CONFIG, HealthService, KAFKA, LOGGER, ResourceStoreService, type ServiceConfig } from '@ganglion/nest';
import { eventTraces, inSpan, markSend, processMetrics, startProcessSpan, type Logger } from '@ganglion/telemetry';

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * Consumes the event topics of every EventBus that has Sensors, evaluates each event against
 * the Sensors on that bus and, in the same Kafka transaction as the consumed offsets, produces
 * the fired actions and one outcome record per event. All replicas share one consumer group.
 */
@Injectable()
export class SensorRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private loop: TransactionalLoop | undefined;
  private topics: string[] = [];
  private restarting: Promise<void> = Promise.resolve();
  private running = false;

  constructor(
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly store: ResourceStoreService,
    health: HealthService,
  ) {
    health.addReadinessCheck('consumer', () => this.running);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.store.onChange(() => {
      this.restarting = this.restarting.then(() => this.reconcileTopics()).catch((err: unknown) => this.logger.error('consumer restart failed', { error: err }));
    });
    await this.reconcileTopics();
  }

  /** Event topics of the buses that Sensors use. */
  private wantedTopics(): string[] {
    const topics = new Set<string>();
    for (const s of this.store.list<Sensor>('Sensor')) {
      const bus = this.store.get<EventBus>('EventBus', namespaceOf(s), s.spec.eventBusName || DEFAULT_EVENTBUS);
      if (bus?.spec.kafka) topics.add(eventBusTopic(bus));
    }
    return [...topics].sort();
  }

  private async reconcileTopics(): Promise<void> {
    const wanted = this.wantedTopics();
    if (wanted.join(',') === this.topics.join(',') && (this.loop || wanted.length === 0)) {
      this.running = true;
      return;
    }
    this.running = false;
    await this.loop?.stop();
    this.loop = undefined;
    this.topics = wanted;
    if (wanted.length === 0) {
      this.running = true;
      this.logger.info('no sensors: not consuming');
      return;
    }
    this.loop = new TransactionalLoop({
      kafka: this.kafka,
      groupId: 'ganglion-sensor',
      topics: wanted,
      logger: this.logger,
      transactionalId: `ganglion-sensor-${this.config.instanceId}`,
      handle: (batch) => this.handle(batch),
    });
    await this.loop.start();
    await this.loop.joined;
    this.running = true;
    this.logger.info('consuming', { topics: wanted });
  }

  private sensorsOn(topic: string): Sensor[] {
    return this.store.list<Sensor>('Sensor').filter((s) => {
      const bus = this.store.get<EventBus>('EventBus', namespaceOf(s), s.spec.eventBusName || DEFAULT_EVENTBUS);
      return bus?.spec.kafka !== undefined && eventBusTopic(bus) === topic;
    });
  }

  /** Pure evaluation of a batch into output records (actions and outcomes). */
  private handle(batch: ConsumedBatch): OutRecord[] {
    const topics = busTopics(batch.topic);
    const sensors = this.sensorsOn(batch.topic);
    const out: OutRecord[] = [];
    const now = new Date().toISOString();
    for (const message of batch.messages) {
      const span = startProcessSpan(batch.topic, headerMap(message.headers), { partition: batch.partition, offset: message.offset, consumerGroup: 'ganglion-sensor' });
      let event: SensorEvent;
      try {
        const ce = decodeCloudEvent(message);
        span.event(ce.id);
        event = {
          context: {
            id: ce.id,
            source: ce.source,
            specversion: ce.specversion,
            type: ce.type,
            ...(ce.datacontenttype ? { datacontenttype: ce.datacontenttype } : {}),
            ...(ce.subject ? { subject: ce.subject } : {}),
            ...(ce.time ? { time: ce.time } : {}),
          },
          data: eventData(ce),
        };
      } catch (err) {
        const reason = `not a CloudEvent: ${(err as Error).message}`;
        this.logger.warn('skipping record', { topic: batch.topic, partition: batch.partition, offset: message.offset, reason });
        const rejected: OutcomeRecord = { v: 1, kind: 'event-rejected', offset: message.offset, partition: batch.partition, at: now, reason };
        out.push({ topic: topics.outcomes, key: `${batch.topic}/${batch.partition}/${message.offset}`, value: JSON.stringify(rejected), headers: JSON_HEADERS });
        span.end(reason);
        continue;
      }
      const decisions: Extract<OutcomeRecord, { kind: 'event' }>['decisions'] = [];
      for (const sensor of sensors) {
        const ns = namespaceOf(sensor);
        const attributes = { 'ganglion.namespace': ns, 'ganglion.sensor': sensor.metadata.name };
        const result = inSpan('evaluate', { parent: span.context, attributes }, () => evaluateSensorEvent(sensor, ns, event));
        for (const d of result.decisions) processMetrics().sensorEvents.inc({ namespace: ns, sensor_name: sensor.metadata.name, result: d.triggers.some((t) => t.result === 'fired') ? 'fired' : 'waiting' });
        decisions.push(...result.decisions);
        for (const f of result.fired) {
          const action: ActionRecord = {
            v: RECORD_VERSION,
            actionId: f.actionId,
            namespace: ns,
            sensor: sensor.metadata.name,
            trigger: f.trigger,
            events: { [f.dependency]: event },
            createdAt: now,
          };
          // A join's action links the traces of all its events.
          const links = eventTraces.links(Object.values(action.events).map((e) => e.context.id));
          const headers = markSend(topics.actions, { ...JSON_HEADERS, 'ganglion-action-id': f.actionId }, { parent: span.context, key: f.key, links });
          out.push({ topic: topics.actions, key: f.key, value: JSON.stringify(action), headers });
          this.logger.debug('trigger fired', { eventId: event.context.id, actionId: f.actionId, trigger: f.key });
        }
      }
      const outcome: OutcomeRecord = { v: 1, kind: 'event', eventId: event.context.id, source: event.context.source, subject: event.context.subject ?? '', at: now, decisions };
      out.push({ topic: topics.outcomes, key: event.context.id, value: JSON.stringify(outcome), headers: JSON_HEADERS });
      span.end();
    }
    return out;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.restarting;
    await this.loop?.stop();
  }
}
