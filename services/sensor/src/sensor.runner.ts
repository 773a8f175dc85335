import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { eventBusTopic, namespaceOf, DEFAULT_EVENTBUS, type EventBus, type Sensor } from '@ganglion/api';
import { compileSensor, type CompiledSensor } from '@ganglion/core';
import { busTopics, ChangelogMirror, ExactlyOnceLoop, type BusClients } from '@ganglion/eventbus';
import { BUS_CLIENTS, CONFIG, ENV, HealthService, LOGGER, ResourceStoreService, type ServiceConfig } from '@ganglion/nest';
import type { Logger } from '@ganglion/telemetry';
import { BusProcessor, type SensorDirectory } from './bus.processor.js';

interface BusWork {
  topic: string;
  /** The bus's cluster (BusClients key): the loop and the mirror run there. */
  cluster: string;
  loop: ExactlyOnceLoop;
  mirror: ChangelogMirror;
  processor: BusProcessor;
}

/**
 * Runs the sensor work of every EventBus that has Sensors: one exactly-once loop per bus over
 * its event topic and its joins topic (consumer group `ganglion-sensor.<P>`, shared by all
 * replicas), plus a mirror of the bus's join-state changelog used to restore join state, both
 * on the bus's own cluster (`spec.kafka.url`, else the installation's).
 */
@Injectable()
export class SensorRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly buses = new Map<string, BusWork>();
  private compiled = new Map<string, { json: string; sensor: CompiledSensor; topic: string }>();
  private byTopic = new Map<string, CompiledSensor[]>();
  /** The cluster of each event topic with sensors. */
  private clusters = new Map<string, string>();
  private restarting: Promise<void> = Promise.resolve();
  private running = false;
  private readonly concurrency: number;
  private readonly fetchWaitMs: number;
  private readonly commitIntervalMs: number;

  constructor(
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(BUS_CLIENTS) private readonly clients: BusClients,
    private readonly store: ResourceStoreService,
    health: HealthService,
  ) {
    health.addReadinessCheck('consumer', () => this.running);
    const c = Number(env['GANGLION_SENSOR_CONCURRENCY'] ?? '4');
    this.concurrency = Number.isInteger(c) && c > 0 ? c : 4;
    const w = Number(env['GANGLION_SENSOR_FETCH_WAIT_MS'] ?? '10');
    this.fetchWaitMs = Number.isInteger(w) && w >= 0 ? w : 10;
    const ci = Number(env['GANGLION_SENSOR_COMMIT_INTERVAL_MS'] ?? '0');
    this.commitIntervalMs = Number.isInteger(ci) && ci >= 0 ? ci : 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.store.onChange(() => {
      this.refreshSensors();
      this.restarting = this.restarting.then(() => this.reconcileBuses()).catch((err: unknown) => this.logger.error('consumer restart failed', { error: err }));
    });
    this.refreshSensors();
    await this.reconcileBuses();
  }

  /** Recompiles changed sensors and indexes them by event topic. */
  private refreshSensors(): void {
    const next = new Map<string, { json: string; sensor: CompiledSensor; topic: string }>();
    const clusters = new Map<string, string>();
    for (const s of this.store.list<Sensor>('Sensor')) {
      const ns = namespaceOf(s);
      const bus = this.store.get<EventBus>('EventBus', ns, s.spec.eventBusName || DEFAULT_EVENTBUS);
      if (!bus?.spec.kafka) continue;
      const key = `${ns}/${s.metadata.name}`;
      const json = JSON.stringify(s.spec);
      const prev = this.compiled.get(key);
      const topic = eventBusTopic(bus);
      // An event topic is consumed on one cluster: a second bus naming the same topic on another cluster shares the first's.
      const cluster = this.clients.clusterOf(bus);
      if ((clusters.get(topic) ?? cluster) !== cluster) this.logger.warn('EventBuses on different clusters name one topic; consuming it on one', { topic, cluster: clusters.get(topic) });
      else clusters.set(topic, cluster);
      next.set(key, prev && prev.json === json && prev.topic === topic ? prev : { json, sensor: compileSensor(s, ns), topic });
    }
    const byTopic = new Map<string, CompiledSensor[]>();
    for (const { sensor, topic } of next.values()) {
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      list.push(sensor);
    }
    this.compiled = next;
    this.byTopic = byTopic;
    this.clusters = clusters;
  }

  private directory(topic: string): SensorDirectory {
    return {
      sensors: () => this.byTopic.get(topic) ?? [],
      sensor: (ns, name) => {
        const c = this.compiled.get(`${ns}/${name}`);
        return c && c.topic === topic ? c.sensor : undefined;
      },
    };
  }

  private async reconcileBuses(): Promise<void> {
    const wanted = new Set(this.byTopic.keys());
    for (const [topic, work] of this.buses) {
      if (wanted.has(topic) && this.clusters.get(topic) === work.cluster) continue;
      this.buses.delete(topic);
      await work.loop.stop();
      await work.mirror.stop();
      this.logger.info('stopped consuming', { topic });
    }
    for (const topic of wanted) {
      if (this.buses.has(topic)) continue;
      const topics = busTopics(topic);
      const cluster = this.clusters.get(topic)!;
      const kafka = this.clients.client(cluster);
      const mirror = new ChangelogMirror(kafka, [topics.joinState], this.logger);
      const groupId = `ganglion-sensor.${topic}`;
      const processor = new BusProcessor(topics, this.directory(topic), mirror, this.logger.child({ bus: topic }), groupId);
      const loop = new ExactlyOnceLoop({
        kafka,
        groupId,
        topics: [topics.events, topics.joins],
        logger: this.logger.child({ bus: topic }),
        processor,
        concurrency: this.concurrency,
        maxWaitMs: this.fetchWaitMs,
        commitIntervalMs: this.commitIntervalMs,
      });
      this.buses.set(topic, { topic, cluster, loop, mirror, processor });
      await mirror.start();
      await loop.start();
      await loop.joined;
      this.logger.info('consuming', { topics: [topics.events, topics.joins], group: groupId, cluster, instance: this.config.instanceId });
    }
    this.running = true;
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.restarting;
    for (const work of this.buses.values()) {
      await work.loop.stop();
      await work.mirror.stop();
    }
    this.buses.clear();
  }
}
