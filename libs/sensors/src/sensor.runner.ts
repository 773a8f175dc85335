import {
  eventBusTopic,
  namespaceOf,
  DEFAULT_EVENTBUS,
  type AnyResource,
  type EventBus,
  type Sensor,
} from '@ganglion/api';
import { compileSensor, type CompiledSensor } from '@ganglion/core';
import {
  busTopics,
  ChangelogMirror,
  ExactlyOnceLoop,
  SerialReconcile,
  type BusClients,
  type TransactionScope,
} from '@ganglion/eventbus';
import type { Logger } from '@ganglion/telemetry';
import { BusProcessor, type SensorDirectory } from './bus.processor.js';

/** Settings of the sensor stage, parsed once at the service's edge. */
export interface SensorSettings {
  /** Partitions processed concurrently per bus (`GANGLION_SENSOR_CONCURRENCY`). */
  concurrency: number;
  /** Longest a fetch waits at the broker for new committed data, ms (`GANGLION_SENSOR_FETCH_WAIT_MS`). */
  fetchWaitMs: number;
  /** Least time between two transactions of one partition, ms (`GANGLION_SENSOR_COMMIT_INTERVAL_MS`). */
  commitIntervalMs: number;
  /**
   * One transaction per input partition, or one for the whole replica (KIP-447, transactional id
   * from the instance id) (`GANGLION_SENSOR_TRANSACTION_SCOPE`).
   */
  transactionScope: TransactionScope;
  /** Wall-clock deadline of one jq or Lua evaluation, ms (`GANGLION_EVAL_DEADLINE_MS`). */
  evaluationDeadlineMs: number;
  /** Largest value a jq program may build, bytes (`GANGLION_EVAL_MAX_VALUE_BYTES`). */
  evaluationMaxValueBytes: number;
  /** Memory growth a Lua script may cause, bytes (`GANGLION_EVAL_LUA_MAX_MEMORY_BYTES`). */
  luaMaxMemoryBytes: number;
}

export const DEFAULT_SENSOR_SETTINGS: SensorSettings = {
  concurrency: 4,
  fetchWaitMs: 10,
  commitIntervalMs: 0,
  transactionScope: 'partition',
  evaluationDeadlineMs: 2_000,
  evaluationMaxValueBytes: 16 * 1024 * 1024,
  luaMaxMemoryBytes: 64 * 1024 * 1024,
};

interface SensorRunnerOptions {
  /** The clients of every cluster (libs/eventbus): a bus's loop and mirror run on the bus's own cluster. */
  clients: Pick<BusClients, 'clusterOf' | 'client'>;
  /** The resources (Sensors, EventBuses), kept current by the caller (libs/eventbus `ResourceStore` fits). */
  store: ResourceView;
  logger: Logger;
  settings: SensorSettings;
  /** This replica (a log field). */
  instanceId: string;
}

/** The part of the resource store the runner reads. */
interface ResourceView {
  list<T extends AnyResource>(kind: T['kind']): T[];
  get<T extends AnyResource>(kind: T['kind'], namespace: string, name: string): T | undefined;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

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
 * Resource changes recompile the sensors and start or stop buses' loops, one change at a time.
 */
export class SensorRunner {
  private readonly buses = new Map<string, BusWork>();
  private compiled = new Map<string, { json: string; sensor: CompiledSensor; topic: string }>();
  private byTopic = new Map<string, CompiledSensor[]>();
  /** The cluster of each event topic with sensors. */
  private clusters = new Map<string, string>();
  /** Reconciles one at a time; a failed one is tried again, backing off, until one succeeds. */
  private readonly reconciles: SerialReconcile;
  private unsubscribe: (() => void) | undefined;
  private running = false;

  constructor(private readonly options: SensorRunnerOptions) {
    this.reconciles = new SerialReconcile({
      run: () => this.reconcileBuses(),
      logger: options.logger,
      what: 'consumer restart',
    });
  }

  /** True once every wanted bus's loop joined its group (readiness). */
  get ready(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    const { store } = this.options;
    this.unsubscribe = store.onChange(() => {
      this.refreshSensors();
      // Logged and retried by `reconciles`.
      this.reconciles.request().catch(() => undefined);
    });
    this.refreshSensors();
    await this.reconciles.request();
  }

  /** Recompiles changed sensors and indexes them by event topic. */
  private refreshSensors(): void {
    const { store } = this.options;
    const next = new Map<string, { json: string; sensor: CompiledSensor; topic: string }>();
    const clusters = new Map<string, string>();
    for (const s of store.list<Sensor>('Sensor')) {
      const ns = namespaceOf(s);
      const bus = store.get<EventBus>('EventBus', ns, s.spec.eventBusName || DEFAULT_EVENTBUS);
      if (!bus?.spec.kafka) continue;
      const key = `${ns}/${s.metadata.name}`;
      const json = JSON.stringify(s.spec);
      const prev = this.compiled.get(key);
      const topic = eventBusTopic(bus);
      // An event topic is consumed on one cluster: a second bus naming the same topic on another cluster shares the first's.
      const cluster = this.options.clients.clusterOf(bus);
      if ((clusters.get(topic) ?? cluster) !== cluster)
        this.options.logger.warn(
          'EventBuses on different clusters name one topic; consuming it on one',
          { topic, cluster: clusters.get(topic) },
        );
      else clusters.set(topic, cluster);
      next.set(
        key,
        prev && prev.json === json && prev.topic === topic
          ? prev
          : { json, sensor: compileSensor(s, ns), topic },
      );
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
    const { logger, settings } = this.options;
    const wanted = new Set(this.byTopic.keys());
    for (const [topic, work] of this.buses) {
      if (wanted.has(topic) && this.clusters.get(topic) === work.cluster) continue;
      this.buses.delete(topic);
      await work.loop.stop();
      await work.mirror.stop();
      logger.info('stopped consuming', { topic });
    }
    for (const topic of wanted) {
      if (this.buses.has(topic)) continue;
      const cluster = this.clusters.get(topic)!;
      const kafka = this.options.clients.client(cluster);
      const topics = busTopics(topic);
      const mirror = new ChangelogMirror(kafka, [topics.joinState], logger);
      const groupId = `ganglion-sensor.${topic}`;
      const processor = new BusProcessor(
        topics,
        this.directory(topic),
        mirror,
        logger.child({ bus: topic }),
        groupId,
        {
          limits: {
            jqLimits: {
              deadlineMs: settings.evaluationDeadlineMs,
              maxValueBytes: settings.evaluationMaxValueBytes,
            },
            luaLimits: {
              deadlineMs: settings.evaluationDeadlineMs,
              maxMemory: settings.luaMaxMemoryBytes,
            },
          },
        },
      );
      const loop = new ExactlyOnceLoop({
        kafka,
        groupId,
        topics: [topics.events, topics.joins],
        logger: logger.child({ bus: topic }),
        processor,
        concurrency: settings.concurrency,
        maxWaitMs: settings.fetchWaitMs,
        commitIntervalMs: settings.commitIntervalMs,
        transactionScope: settings.transactionScope,
        instanceId: this.options.instanceId,
      });
      // In `buses` while it starts, so that a reconcile running meanwhile neither starts it twice
      // nor misses it when it is no longer wanted.
      const work: BusWork = { topic, cluster, loop, mirror, processor };
      this.buses.set(topic, work);
      try {
        await mirror.start();
        await loop.start();
        await loop.joined;
      } catch (err) {
        // Nothing of a bus that failed to start is kept: what started is stopped, and the topic
        // is left out of `buses`, so the next reconcile (the next resource change) starts it again.
        if (this.buses.get(topic) === work) this.buses.delete(topic);
        this.running = false;
        await loop.stop().catch(() => undefined);
        await mirror.stop().catch(() => undefined);
        throw err;
      }
      logger.info('consuming', {
        topics: [topics.events, topics.joins],
        group: groupId,
        cluster,
        instance: this.options.instanceId,
      });
    }
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    await this.reconciles.stop();
    for (const work of this.buses.values()) {
      await work.loop.stop();
      await work.mirror.stop();
    }
    this.buses.clear();
  }
}
