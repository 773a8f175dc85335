import { randomUUID } from 'node:crypto';
import type { JoinState } from '@ganglion/core';
import {
  decodeJoinRecord,
  joinStep,
  RECORD_VERSION,
  routeEvent,
  type ActionRecord,
  type CompiledSensor,
  type EvaluationLimits,
  type FiredTrigger,
  type JoinRecord,
  type OutcomeRecord,
  type RouteResult,
  type SensorEvent,
} from '@ganglion/core';
import {
  BARRIER_KEY,
  decodeCloudEvent,
  eventData,
  headerMap,
  type BusTopics,
  type ChangelogMirror,
  type ConsumedBatch,
  type KafkaMessage,
  type OutRecord,
  type PartitionContext,
  type PartitionProcessor,
} from '@ganglion/eventbus';
import {
  inSpan,
  markSend,
  processMetrics,
  spanContextOf,
  startProcessSpan,
  traceparentOf,
  type Context,
  type Logger,
  type SpanContext,
  type TriggerLabels,
} from '@ganglion/telemetry';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/**
 * A trigger's join state as stored (memory and the `P-join-state` changelog): the reducer's
 * state plus, per collected event id, the W3C traceparent the event arrived with, so the action
 * of a join links the traces of all its events on any replica and after restarts.
 */
interface StoredJoin extends JoinState {
  traces?: Record<string, string>;
}

type ProcessSpan = ReturnType<typeof startProcessSpan>;

/** `<namespace>/<sensor>/<trigger>` → metric labels. */
function triggerLabels(key: string): TriggerLabels | undefined {
  const parts = key.split('/');
  return parts.length === 3
    ? { namespace: parts[0]!, sensor_name: parts[1]!, trigger_name: parts[2]! }
    : undefined;
}

/** Tuning of {@link BusProcessor}. */
export interface BusProcessorOptions {
  /** Bounds of every transform and filter (docs/core.md "Limits"; the engines' defaults when unset). */
  limits?: EvaluationLimits;
  /**
   * Attempts of a record whose processing throws outside a dependency's evaluation (default 3):
   * the batch fails and is processed again until then, after which the record gets an
   * `event-rejected` outcome and is skipped.
   */
  maxAttempts?: number;
}

/** Remembered failures and error decisions at most (each map), oldest dropped first. */
const MEMORY_ENTRIES = 1_000;

/** `map.set` keeping at most {@link MEMORY_ENTRIES} entries. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MEMORY_ENTRIES) map.delete(map.keys().next().value!);
}

/** The sensors of one bus, compiled; refreshed by the runner when resources change. */
export interface SensorDirectory {
  /** Sensors reading this bus. */
  sensors(): readonly CompiledSensor[];
  /** A sensor by `<namespace>/<name>`. */
  sensor(namespace: string, name: string): CompiledSensor | undefined;
}

function toSensorEvent(message: KafkaMessage): SensorEvent {
  const ce = decodeCloudEvent(message);
  return {
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
}

/**
 * Exactly-once processing of one EventBus's sensor work, per owned input partition:
 * - an event partition of `P`: every sensor on the bus routes the event (transform, filters);
 *   single-dependency triggers produce their action, the others a join record to `P-joins`
 *   (keyed by trigger, so one trigger's join always lands on one partition);
 * - a partition of `P-joins`: join state for the triggers hashed to it lives in memory, is
 *   restored from `P-join-state` (same partition number) when the partition is opened, and
 *   every change is written back to it in the same transaction as the actions and offsets.
 * Time is the consumed record's timestamp, so a batch processed again decides identically.
 *
 * A poisoned record never stops a partition (issue 17): a dependency whose transform or filter
 * fails (an error, a limit, a deadline) gets an `error` decision in the event's outcome and the
 * other dependencies and sensors still get the event. A deadline depends on the machine, so the
 * sensor's routing of a record with an `error` decision is remembered (by position) and reused
 * when the batch is processed again after a failed transaction: the replay decides identically
 * and does not wait for the deadline again. A record whose processing throws anyway fails its
 * batch at most `maxAttempts` times (counted here, per position), then is rejected and skipped.
 */
export class BusProcessor implements PartitionProcessor {
  /** Join state by trigger key, per owned `P-joins` partition. */
  private readonly states = new Map<number, Map<string, StoredJoin>>();
  /** Failed attempts by `<topic>/<partition>/<offset>`. */
  private readonly failures = new Map<string, number>();
  /** A sensor's routing of a record that has an `error` decision, by `<topic>/<partition>/<offset>/<namespace>/<sensor>`. */
  private readonly erred = new Map<string, { sensor: CompiledSensor; result: RouteResult }>();
  private readonly limits: EvaluationLimits;
  private readonly maxAttempts: number;

  constructor(
    private readonly topics: BusTopics,
    private readonly directory: SensorDirectory,
    private readonly mirror: ChangelogMirror,
    private readonly logger: Logger,
    /** The consumer group (a span attribute). */
    private readonly groupId = 'ganglion-sensor',
    options: BusProcessorOptions = {},
  ) {
    this.limits = options.limits ?? {};
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  }

  /** Join-state entries held in memory (all owned partitions). */
  get joinStateSize(): number {
    let n = 0;
    for (const m of this.states.values()) n += m.size;
    return n;
  }

  async open(ctx: PartitionContext): Promise<void> {
    if (ctx.topic !== this.topics.joins) return;
    // The previous owner is fenced; a barrier written now and read back by the mirror proves
    // the mirror holds every state change committed before.
    const id = randomUUID();
    const seen = this.mirror.barrier(this.topics.joinState, ctx.partition, id);
    try {
      await ctx.produce([
        { topic: this.topics.joinState, partition: ctx.partition, key: BARRIER_KEY, value: id },
      ]);
    } catch (err) {
      // No barrier was written (the loop stopped, the producer was fenced): nobody waits for it,
      // so its time-out must not surface later as an unhandled rejection.
      seen.catch(() => undefined);
      throw err;
    }
    await seen;
    const states = new Map<string, StoredJoin>();
    for (const [key, value] of this.mirror.snapshot(this.topics.joinState, ctx.partition)) {
      try {
        states.set(key, JSON.parse(value.toString('utf8')) as StoredJoin);
      } catch (err) {
        this.logger.warn('ignoring unparsable join state', { key, error: err });
      }
    }
    this.states.set(ctx.partition, states);
    for (const key of states.keys()) this.gauge(key, true);
    this.logger.info('join state restored', {
      topic: ctx.topic,
      partition: ctx.partition,
      triggers: states.size,
    });
  }

  close(topic: string, partition: number): void {
    if (topic !== this.topics.joins) return;
    for (const key of this.states.get(partition)?.keys() ?? []) this.gauge(key, false);
    this.states.delete(partition);
  }

  /** `ganglion_join_state_entries` of one trigger: a partial join held here or not. */
  private gauge(key: string, held: boolean): void {
    const labels = triggerLabels(key);
    if (labels) processMetrics().joinStateEntries.set(labels, held ? 1 : 0);
  }

  process(batch: ConsumedBatch): OutRecord[] {
    return batch.topic === this.topics.joins ? this.processJoins(batch) : this.processEvents(batch);
  }

  /**
   * The action record of a fired trigger, with a producer span `send <P-actions>` (child of
   * `parent`, the processing of the event that completed it) whose context the trigger
   * continues; `links`: the traces of every event of a join.
   */
  private action(
    f: FiredTrigger,
    namespace: string,
    sensor: string,
    at: string,
    parent: Context,
    links: SpanContext[] = [],
  ): OutRecord {
    const generation = this.directory.sensor(namespace, sensor)?.generation;
    const action: ActionRecord = {
      v: RECORD_VERSION,
      actionId: f.actionId,
      namespace,
      sensor,
      trigger: f.trigger,
      ...(generation !== undefined ? { generation } : {}),
      events: f.events,
      createdAt: at,
    };
    const headers = markSend(
      this.topics.actions,
      { ...JSON_HEADERS, 'ganglion-action-id': f.actionId },
      { parent, key: f.key, links, attributes: { 'ganglion.action.id': f.actionId } },
    );
    return { topic: this.topics.actions, key: f.key, value: JSON.stringify(action), headers };
  }

  private outcome(key: string, o: OutcomeRecord): OutRecord {
    return { topic: this.topics.outcomes, key, value: JSON.stringify(o), headers: JSON_HEADERS };
  }

  private processEvents(batch: ConsumedBatch): OutRecord[] {
    const out: OutRecord[] = [];
    const sensors = this.directory.sensors();
    for (const message of batch.messages) {
      const position = `${batch.topic}/${batch.partition}/${message.offset}`;
      const records: OutRecord[] = [];
      const span = startProcessSpan(batch.topic, headerMap(message.headers), {
        partition: batch.partition,
        offset: message.offset,
        consumerGroup: this.groupId,
      });
      try {
        this.processEvent(batch, message, position, sensors, span, records);
      } catch (err) {
        span.end(err);
        const reason = this.failed(batch, message, position, err);
        out.push(
          this.outcome(position, {
            v: 1,
            kind: 'event-rejected',
            offset: message.offset,
            partition: batch.partition,
            at: new Date(Number(message.timestamp)).toISOString(),
            reason,
          }),
        );
        continue;
      }
      this.failures.delete(position);
      for (const r of records) out.push(r);
    }
    return out;
  }

  /**
   * A record's processing threw: counts the attempt; rethrows (the batch fails and is processed
   * again) below `maxAttempts`, else returns the reason to skip the record with.
   */
  private failed(
    batch: ConsumedBatch,
    message: KafkaMessage,
    position: string,
    err: unknown,
  ): string {
    const attempts = (this.failures.get(position) ?? 0) + 1;
    const error = err instanceof Error ? err.message : String(err);
    const where = { topic: batch.topic, partition: batch.partition, offset: message.offset };
    if (attempts < this.maxAttempts) {
      remember(this.failures, position, attempts);
      this.logger.warn('processing a record failed: the batch will be processed again', {
        ...where,
        attempts,
        error,
      });
      throw err;
    }
    this.failures.delete(position);
    const reason = `processing failed ${attempts} times: ${error}`;
    this.logger.error('skipping record', { ...where, reason });
    return reason;
  }

  /** Routes one event record to every sensor; its records are appended to `out`, then `span` ends. */
  private processEvent(
    batch: ConsumedBatch,
    message: KafkaMessage,
    position: string,
    sensors: readonly CompiledSensor[],
    span: ProcessSpan,
    out: OutRecord[],
  ): void {
    const nowMs = Number(message.timestamp);
    const at = new Date(nowMs).toISOString();
    let event: SensorEvent;
    try {
      event = toSensorEvent(message);
    } catch (err) {
      const reason = `not a CloudEvent: ${(err as Error).message}`;
      this.logger.warn('skipping record', {
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        reason,
      });
      out.push(
        this.outcome(position, {
          v: 1,
          kind: 'event-rejected',
          offset: message.offset,
          partition: batch.partition,
          at,
          reason,
        }),
      );
      span.end(reason);
      return;
    }
    span.event(event.context.id);
    const decisions: Extract<OutcomeRecord, { kind: 'event' }>['decisions'] = [];
    // Only the Sensors of the EventSource's namespace (CloudEvent extension `namespace`): a
    // same-named EventSource of another tenant never satisfies a dependency. An event without it
    // (written by an older ingress or another producer) is matched on source and name only.
    const namespace = headerMap(message.headers)['ce_namespace'];
    for (const sensor of sensors) {
      if (namespace !== undefined && sensor.namespace !== namespace) continue;
      const attributes = {
        'ganglion.namespace': sensor.namespace,
        'ganglion.sensor': sensor.name,
      };
      const r = this.route(position, sensor, event, nowMs, span.context, attributes);
      decisions.push(...r.decisions);
      for (const d of r.decisions) {
        if (d.result !== 'matched') continue;
        const result = d.triggers.some((t) => t.result === 'fired')
          ? 'fired'
          : d.triggers.some((t) => t.result === 'joining')
            ? 'waiting'
            : undefined;
        if (result)
          processMetrics().sensorEvents.inc({
            namespace: sensor.namespace,
            sensor_name: sensor.name,
            result,
          });
      }
      for (const f of r.fired)
        out.push(this.action(f, sensor.namespace, sensor.name, at, span.context));
      for (const j of r.joins) {
        const rec: JoinRecord = {
          v: RECORD_VERSION,
          namespace: sensor.namespace,
          sensor: sensor.name,
          trigger: j.trigger,
          dependency: j.dependency,
          event: j.event,
        };
        const headers = markSend(
          this.topics.joins,
          { ...JSON_HEADERS },
          { parent: span.context, key: j.key, messageId: event.context.id },
        );
        out.push({
          topic: this.topics.joins,
          key: j.key,
          value: JSON.stringify(rec),
          headers,
          timestamp: message.timestamp,
        });
      }
    }
    out.push(
      this.outcome(event.context.id, {
        v: 1,
        kind: 'event',
        eventId: event.context.id,
        source: event.context.source,
        subject: event.context.subject ?? '',
        at,
        decisions,
      }),
    );
    span.end();
  }

  /**
   * A sensor's routing of an event, or the one remembered when its position was processed
   * before with an `error` decision (see the class comment). Logs each `error` decision.
   */
  private route(
    position: string,
    sensor: CompiledSensor,
    event: SensorEvent,
    nowMs: number,
    parent: Context,
    attributes: Record<string, string>,
  ): RouteResult {
    const key = `${position}/${sensor.namespace}/${sensor.name}`;
    const known = this.erred.get(key);
    if (known?.sensor === sensor) return known.result;
    const r = inSpan('evaluate', { parent, attributes }, () =>
      routeEvent(sensor, event, nowMs, this.limits),
    );
    const errors = r.decisions.filter((d) => d.result === 'error');
    if (!errors.length) return r;
    remember(this.erred, key, { sensor, result: r });
    for (const d of errors)
      this.logger.warn('dependency evaluation failed', {
        namespace: d.namespace,
        sensor: d.sensor,
        dependency: d.dependency,
        eventId: event.context.id,
        position,
        reason: d.reason,
      });
    return r;
  }

  private processJoins(batch: ConsumedBatch): OutRecord[] {
    const states = this.states.get(batch.partition);
    if (!states) throw new Error(`join partition ${batch.topic}[${batch.partition}] is not open`);
    const out: OutRecord[] = [];
    const changed = new Map<string, string | null>();
    for (const message of batch.messages) {
      const key = message.key?.toString('utf8') ?? '';
      if (key === BARRIER_KEY) continue;
      const position = `${batch.topic}/${batch.partition}/${message.offset}`;
      const headers = headerMap(message.headers);
      const span = startProcessSpan(batch.topic, headers, {
        partition: batch.partition,
        offset: message.offset,
        consumerGroup: this.groupId,
      });
      // What this record may change, restored if it is skipped after failing.
      const state = states.get(key);
      const change = changed.has(key) ? { value: changed.get(key)! } : undefined;
      const records: OutRecord[] = [];
      try {
        this.joinOne(batch, message, key, headers, span.context, states, changed, records);
        span.end();
      } catch (err) {
        span.end(err);
        const reason = this.failed(batch, message, position, err);
        if (state) states.set(key, state);
        else states.delete(key);
        if (change) changed.set(key, change.value);
        else changed.delete(key);
        this.gauge(key, !!state);
        let rec: JoinRecord | undefined;
        try {
          rec = decodeJoinRecord(message.value);
        } catch {
          rec = undefined;
        }
        out.push(
          this.outcome(key, {
            v: 1,
            kind: 'join',
            key,
            namespace: rec?.namespace ?? '',
            sensor: rec?.sensor ?? '',
            trigger: rec?.trigger ?? '',
            dependency: rec?.dependency ?? '',
            eventId: rec?.event.context.id ?? '',
            at: new Date(Number(message.timestamp)).toISOString(),
            result: 'ignored',
            have: Object.keys(state?.events ?? {}).sort(),
            reason,
          }),
        );
        continue;
      }
      this.failures.delete(position);
      for (const r of records) out.push(r);
    }
    for (const [key, value] of changed)
      out.push({
        topic: this.topics.joinState,
        partition: batch.partition,
        key,
        value,
        headers: JSON_HEADERS,
      });
    return out;
  }

  /** One record of `P-joins`: a dependency event fed to its trigger's join state. */
  private joinOne(
    batch: ConsumedBatch,
    message: KafkaMessage,
    key: string,
    headers: Record<string, string>,
    parent: Context,
    states: Map<string, StoredJoin>,
    changed: Map<string, string | null>,
    out: OutRecord[],
  ): void {
    const nowMs = Number(message.timestamp);
    const at = new Date(nowMs).toISOString();
    let rec: JoinRecord;
    try {
      rec = decodeJoinRecord(message.value);
    } catch (err) {
      this.logger.warn('skipping malformed join record', {
        partition: batch.partition,
        offset: message.offset,
        error: err,
      });
      return;
    }
    const base = {
      v: 1 as const,
      kind: 'join' as const,
      key,
      namespace: rec.namespace,
      sensor: rec.sensor,
      trigger: rec.trigger,
      dependency: rec.dependency,
      eventId: rec.event.context.id,
      at,
    };
    const trigger = this.directory.sensor(rec.namespace, rec.sensor)?.byName.get(rec.trigger);
    if (!trigger?.join) {
      out.push(
        this.outcome(key, {
          ...base,
          result: 'ignored',
          have: [],
          reason: trigger
            ? 'the trigger no longer needs a join'
            : 'the sensor or trigger no longer exists',
        }),
      );
      return;
    }
    const prev = states.get(key);
    const r = joinStep(trigger, prev, rec, nowMs);
    // The trace each collected event came with (the join record's send span, in the event's trace).
    const traces: Record<string, string> = { ...(prev?.traces ?? {}) };
    const tp = traceparentOf(spanContextOf(headers['traceparent']));
    if (tp) traces[rec.event.context.id] = tp;
    const state: StoredJoin = { ...r.state };
    const kept: Record<string, string> = {};
    for (const e of Object.values(r.state.events))
      if (traces[e.context.id]) kept[e.context.id] = traces[e.context.id]!;
    if (Object.keys(kept).length) state.traces = kept;
    else delete state.traces;
    const empty = Object.keys(r.state.events).length === 0;
    if (empty) states.delete(key);
    else states.set(key, state);
    this.gauge(key, !empty);
    changed.set(key, empty ? null : JSON.stringify(state));
    if (r.fired) {
      const links: SpanContext[] = [];
      for (const e of Object.values(r.fired.events)) {
        const sc = spanContextOf(traces[e.context.id]);
        if (sc) links.push(sc);
      }
      out.push(this.action(r.fired, rec.namespace, rec.sensor, at, parent, links));
      out.push(
        this.outcome(key, {
          ...base,
          result: 'fired',
          actionId: r.fired.actionId,
          have: Object.keys(r.fired.events).sort(),
        }),
      );
    } else {
      const have = Object.keys(r.state.events).sort();
      out.push(
        this.outcome(
          key,
          r.ignored
            ? { ...base, result: 'ignored', have, reason: r.ignored }
            : { ...base, result: 'waiting', have },
        ),
      );
    }
  }
}
