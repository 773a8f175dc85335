import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of a Ganglion process (prom-client). Argo Events' names and labels
 * (`pkg/metrics/metrics.go`, every series with `namespace`) so existing dashboards keep working,
 * plus `ganglion_*` series for what Argo lacks. Argo's two durations are summaries; here they
 * are histograms with the same names (buckets aggregate across replicas, quantiles do not).
 * Label sets of known resources are created at zero when the resources load, so every series
 * exists from start-up.
 */
const DURATION_BUCKETS_MS = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
];
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

const ES = ['namespace', 'eventsource_name', 'event_name'] as const;
const SENSOR = ['namespace', 'sensor_name', 'trigger_name'] as const;

export interface EventSourceLabels {
  namespace: string;
  eventsource_name: string;
  event_name: string;
}

export interface TriggerLabels {
  namespace: string;
  sensor_name: string;
  trigger_name: string;
}

/**
 * Resolution of the `nodejs_eventloop_lag_*` histogram (ms): a stall this long or longer is
 * always seen, a shorter one when a sample falls in it. Its timer is the largest share of an idle
 * service's wake-ups: at 100 ms, ten of the ~13 a second (docs/benchmarks.md "Idle cost").
 */
const EVENT_LOOP_MONITORING_MS = 1_000;

export class GanglionMetrics {
  readonly registry = new Registry();

  // Argo Events: event sources (the ingress services).
  readonly eventServiceRunning = new Gauge({
    name: 'argo_events_event_service_running_total',
    help: 'How many configured events of an EventSource are being served',
    labelNames: ['namespace', 'eventsource_name'],
    registers: [this.registry],
  });
  readonly eventsSent = new Counter({
    name: 'argo_events_events_sent_total',
    help: 'Events published to the event bus',
    labelNames: ES,
    registers: [this.registry],
  });
  readonly eventsSentFailed = new Counter({
    name: 'argo_events_events_sent_failed_total',
    help: 'Events the event bus did not acknowledge',
    labelNames: ES,
    registers: [this.registry],
  });
  readonly eventsProcessingFailed = new Counter({
    name: 'argo_events_events_processing_failed_total',
    help: 'Events that failed processing (includes events_sent_failed)',
    labelNames: ES,
    registers: [this.registry],
  });
  readonly eventProcessingDuration = new Histogram({
    name: 'argo_events_event_processing_duration_milliseconds',
    help: 'Time from receiving an event to its acknowledgement by the event bus (ms)',
    labelNames: ES,
    buckets: DURATION_BUCKETS_MS,
    registers: [this.registry],
  });

  // Argo Events: sensors (actions are executed by the trigger service).
  readonly actionTriggered = new Counter({
    name: 'argo_events_action_triggered_total',
    help: 'Actions executed successfully',
    labelNames: SENSOR,
    registers: [this.registry],
  });
  readonly actionFailed = new Counter({
    name: 'argo_events_action_failed_total',
    help: 'Actions that failed',
    labelNames: SENSOR,
    registers: [this.registry],
  });
  readonly actionRetriesFailed = new Counter({
    name: 'argo_events_action_retries_failed_total',
    help: 'Actions that still failed after their retries were exhausted',
    labelNames: SENSOR,
    registers: [this.registry],
  });
  readonly actionDuration = new Histogram({
    name: 'argo_events_action_duration_milliseconds',
    help: 'Time to execute an action (ms)',
    labelNames: SENSOR,
    buckets: DURATION_BUCKETS_MS,
    registers: [this.registry],
  });

  // Ganglion.
  readonly sensorEvents = new Counter({
    name: 'ganglion_sensor_events_total',
    help: 'Dependency matches of events evaluated by a sensor: fired (an action) or waiting (a join still incomplete)',
    labelNames: ['namespace', 'sensor_name', 'result'],
    registers: [this.registry],
  });
  readonly joinStateEntries = new Gauge({
    name: 'ganglion_join_state_entries',
    help: 'Partial joins held by this replica (a trigger waiting for more dependencies)',
    labelNames: SENSOR,
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'ganglion_consumer_lag',
    help: 'Records not yet committed by the consumer group, per partition (end offset - committed offset)',
    labelNames: ['group', 'topic', 'partition'],
    registers: [this.registry],
  });
  readonly consumerBatchAge = new Gauge({
    name: 'ganglion_consumer_batch_age_seconds',
    help: 'How long this replica has been processing its current batch of a partition (absent when idle); liveness fails past GANGLION_LIVENESS_STALL_SECONDS',
    labelNames: ['group', 'topic', 'partition'],
    registers: [this.registry],
  });
  readonly dlqDepth = new Gauge({
    name: 'ganglion_dlq_depth',
    help: 'Records retained on a dead-letter topic',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly producerBatchSize = new Histogram({
    name: 'ganglion_producer_batch_size',
    help: 'Records per produce request of the micro-batching producer',
    labelNames: ['producer'],
    buckets: BATCH_SIZE_BUCKETS,
    registers: [this.registry],
  });
  readonly producerBatchDuration = new Histogram({
    name: 'ganglion_producer_batch_duration_milliseconds',
    help: 'Time from sending a batch to its acknowledgement (ms)',
    labelNames: ['producer'],
    buckets: DURATION_BUCKETS_MS,
    registers: [this.registry],
  });
  readonly producerBatchesFailed = new Counter({
    name: 'ganglion_producer_batches_failed_total',
    help: 'Produce requests the bus did not acknowledge',
    labelNames: ['producer'],
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: 'ganglion_build_info',
    help: 'Build information',
    labelNames: ['version', 'nodeversion', 'service'],
    registers: [this.registry],
  });

  private readonly eventSourceSeries = new Map<string, EventSourceLabels>();
  private readonly triggerSeries = new Map<string, TriggerLabels>();

  constructor(options: { service?: string; version?: string; defaultMetrics?: boolean } = {}) {
    // The event-loop delay histogram samples every second, not prom-client's 10 ms: its timer
    // woke every service 100 times a second, about 0.25 % of a core per idle process (issue 21).
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({
        register: this.registry,
        eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_MS,
      });
    this.buildInfo.set(
      {
        version: options.version ?? '0.1.0',
        nodeversion: process.version,
        service: options.service ?? '',
      },
      1,
    );
    for (const producer of ['events', 'outcomes', 'resources']) this.initProducer(producer);
  }

  /** Creates the producer series at zero. */
  initProducer(producer: string): void {
    this.producerBatchSize.zero({ producer });
    this.producerBatchDuration.zero({ producer });
    this.producerBatchesFailed.inc({ producer }, 0);
  }

  /**
   * Makes the event-source series exactly these label sets: new ones start at zero, the ones of
   * removed events are dropped.
   */
  setEventSources(list: EventSourceLabels[]): void {
    const next = new Map(
      list.map((l) => [`${l.namespace}/${l.eventsource_name}/${l.event_name}`, l]),
    );
    for (const [key, l] of this.eventSourceSeries)
      if (!next.has(key))
        for (const m of [
          this.eventsSent,
          this.eventsSentFailed,
          this.eventsProcessingFailed,
          this.eventProcessingDuration,
        ])
          m.remove(l);
    for (const [key, l] of next) {
      if (this.eventSourceSeries.has(key)) continue;
      for (const m of [this.eventsSent, this.eventsSentFailed, this.eventsProcessingFailed])
        m.inc(l, 0);
      this.eventProcessingDuration.zero(l);
    }
    this.eventSourceSeries.clear();
    for (const [k, v] of next) this.eventSourceSeries.set(k, v);
    this.eventServiceRunning.reset();
    const perSource = new Map<string, { namespace: string; eventsource_name: string; n: number }>();
    for (const l of next.values()) {
      const k = `${l.namespace}/${l.eventsource_name}`;
      const e = perSource.get(k) ?? {
        namespace: l.namespace,
        eventsource_name: l.eventsource_name,
        n: 0,
      };
      e.n++;
      perSource.set(k, e);
    }
    for (const e of perSource.values())
      this.eventServiceRunning.set(
        { namespace: e.namespace, eventsource_name: e.eventsource_name },
        e.n,
      );
  }

  /** Makes the sensor/trigger series exactly these label sets (see {@link setEventSources}). */
  setTriggers(
    list: TriggerLabels[],
    opts: { actions?: boolean; joins?: boolean } = { actions: true, joins: true },
  ): void {
    const next = new Map(list.map((l) => [`${l.namespace}/${l.sensor_name}/${l.trigger_name}`, l]));
    const action = [this.actionTriggered, this.actionFailed, this.actionRetriesFailed] as const;
    for (const [key, l] of this.triggerSeries)
      if (!next.has(key)) {
        for (const m of action) m.remove(l);
        this.actionDuration.remove(l);
        this.joinStateEntries.remove(l);
        for (const result of ['fired', 'waiting'])
          this.sensorEvents.remove({ namespace: l.namespace, sensor_name: l.sensor_name, result });
      }
    for (const [key, l] of next) {
      if (this.triggerSeries.has(key)) continue;
      if (opts.actions) {
        for (const m of action) m.inc(l, 0);
        this.actionDuration.zero(l);
      }
      if (opts.joins) {
        this.joinStateEntries.set(l, 0);
        for (const result of ['fired', 'waiting'])
          this.sensorEvents.inc({ namespace: l.namespace, sensor_name: l.sensor_name, result }, 0);
      }
    }
    this.triggerSeries.clear();
    for (const [k, v] of next) this.triggerSeries.set(k, v);
  }

  /** Records one event published by an event source. */
  eventPublished(labels: EventSourceLabels, ok: boolean, ms: number): void {
    if (ok) this.eventsSent.inc(labels);
    else {
      this.eventsSentFailed.inc(labels);
      this.eventsProcessingFailed.inc(labels);
    }
    this.eventProcessingDuration.observe(labels, ms);
  }

  /** Records one executed action. `retriesExhausted`: it failed after all its retries. */
  actionExecuted(labels: TriggerLabels, ok: boolean, ms: number, retriesExhausted = false): void {
    if (ok) this.actionTriggered.inc(labels);
    else {
      this.actionFailed.inc(labels);
      if (retriesExhausted) this.actionRetriesFailed.inc(labels);
    }
    this.actionDuration.observe(labels, ms);
  }

  /** Observer for the batching producer's `onBatch` option. */
  batchObserver(producer: string): (size: number, ms: number, ok: boolean) => void {
    this.initProducer(producer);
    return (size, ms, ok) => {
      this.producerBatchSize.observe({ producer }, size);
      this.producerBatchDuration.observe({ producer }, ms);
      if (!ok) this.producerBatchesFailed.inc({ producer });
    };
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

const KEY = Symbol.for('ganglion.metrics');

/** The process-wide metrics (one registry per process, created on first use). */
export function processMetrics(service?: string): GanglionMetrics {
  const g = globalThis as { [KEY]?: GanglionMetrics };
  return (g[KEY] ??= new GanglionMetrics(service ? { service } : {}));
}
