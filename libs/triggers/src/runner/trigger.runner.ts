import {
  eventBusTopic,
  resourceKey,
  TRIGGER_TYPES,
  type AnyResource,
  type EventBus,
  type Sensor,
} from '@ganglion/api';
import {
  cappedDoubling,
  decodeActionRecord,
  type ActionRecord,
  type DeadLetterRecord,
} from '@ganglion/core';
import {
  busTopics,
  headerMap,
  PipelinedLoop,
  SerialReconcile,
  type BusClients,
  type BusProducers,
  type BusTopics,
  type KafkaMessage,
} from '@ganglion/eventbus';
import { loadKubeConfig, type SecretResolver } from '@ganglion/k8s';
import {
  inSpan,
  processMetrics,
  redactUrls,
  withProcessSpan,
  withSendSpan,
  type Logger,
} from '@ganglion/telemetry';
import {
  TriggerExecutor,
  type ActionEnvelope,
  type ActionOutcome,
} from '../executor/trigger.executor.js';
import { closeTriggerRegistry, createTriggerRegistry, type TriggerRegistry } from '../registry.js';
import { authorizeAction } from './action-authority.js';
import { BusAttemptLog } from './attempt-log.js';

/** Settings of the trigger stage, parsed once at the service's edge. */
export interface TriggerSettings {
  /** Concurrent actions per trigger without `atLeastOnce` (`GANGLION_TRIGGER_CONCURRENCY`, default 32; `atLeastOnce` triggers run one at a time, in order). */
  concurrencyPerTrigger: number;
  /** Actions admitted and not yet recorded before consumption waits (`GANGLION_TRIGGER_MAX_BUFFERED`, default 10000). */
  maxBuffered: number;
  /** The same bound per trigger (`GANGLION_TRIGGER_MAX_BUFFERED_PER_TRIGGER`, default 1000). */
  maxBufferedPerTrigger: number;
  /** Slack Web API base URL (`GANGLION_SLACK_API_URL`). */
  slackApiUrl: string | undefined;
  /** Lambda endpoint override (`GANGLION_AWS_LAMBDA_ENDPOINT`). */
  lambdaEndpoint: string | undefined;
  /**
   * Kubeconfig file for the k8s and argoWorkflow triggers (`GANGLION_KUBECONFIG`); unset: the
   * in-cluster service account, else `$KUBECONFIG`/`~/.kube/config` (loaded on first use).
   */
  kubeconfig: string | undefined;
  /** Argo Server base URL for argoWorkflow retry / resubmit --memoized (`GANGLION_ARGO_SERVER_URL`). */
  argoServerUrl: string | undefined;
  /** Bearer token for the Argo Server (`GANGLION_ARGO_SERVER_TOKEN`, e.g. from a Secret via env). */
  argoServerToken: string | undefined;
  /** Verify the Argo Server's certificate (`GANGLION_ARGO_SERVER_INSECURE=true` turns it off). */
  argoServerInsecure: boolean;
  /**
   * The k8s and argoWorkflow triggers act as the Sensor's `spec.template.serviceAccountName`
   * (`default` when unset, as the pod of an Argo sensor would) by impersonation
   * (`GANGLION_TRIGGER_IMPERSONATE`, on in the chart): a Sensor author gets that account's
   * grants, not the trigger service's.
   */
  impersonate?: boolean;
}

interface TriggerRunnerOptions {
  /**
   * The clients of every cluster (libs/eventbus): the actions of a bus are read from the bus's
   * cluster and its outcomes and dead letters written there; the one place the runner obtains clients.
   */
  clients: Pick<BusClients, 'clusterOf' | 'client' | 'producers'>;
  /**
   * The resources (EventBuses, and the Sensors whose current triggers are executed), kept
   * current by the caller (libs/eventbus `ResourceStore` fits).
   */
  store: {
    get<T extends AnyResource>(kind: T['kind'], namespace: string, name: string): T | undefined;
    list<T extends AnyResource>(kind: T['kind']): T[];
    onChange(listener: (change: { type: 'upsert' | 'delete'; key: string }) => void): () => void;
  };
  /**
   * How long an action naming a Sensor generation (or a Sensor) the store has not seen yet waits
   * for the store to catch up before it ends as an `error` (ms, default 30 000).
   */
  storeWaitMs?: number;
  logger: Logger;
  secrets: SecretResolver;
  settings: TriggerSettings;
  /** Stable identity of the replica (`GANGLION_INSTANCE_ID`): its attempt log's transactional id. */
  instanceId?: string;
}

/** The record an action was read from: its trace context and position (span attributes). */
interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

/** An action as the runner hands it to the executor: the record, its bus's topics, and where it was read. */
interface ConsumedAction extends ActionEnvelope {
  /** The action's bus: its topics and its cluster (BusClients key), where its outcome and dead letter go. */
  bus: BusTopics & { cluster: string };
  source: SourceRecord;
}

const CONSUMER_GROUP = 'ganglion-trigger';
const ACTIONS_SUFFIX = busTopics('x').actions.slice(1);
const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/**
 * Executes the actions of every EventBus: a pipelined consumer of the `-actions` topics hands
 * each action to the executor, which runs the trigger with its parameters, policy, retries,
 * rate limit and DLQ trigger; an action's offset is committed once its outcome (and dead
 * letter) records are acknowledged. At least once; the action id is the idempotency key
 * towards the target. Each cluster has its own consumer of its buses' action topics.
 */
export class TriggerRunner {
  /** One consumer per cluster, over the action topics of that cluster's buses. */
  private readonly loops = new Map<string, PipelinedLoop>();
  private readonly topics = new Map<string, string[]>();
  /** Reconciles one at a time; a failed one is tried again, backing off, until one succeeds. */
  private readonly reconciles: SerialReconcile;
  private unsubscribe: (() => void) | undefined;
  private running = false;
  /** Sensors the store saw deleted (by resource key): their actions are rejected without waiting. */
  private readonly deletedSensors = new Set<string>();
  private readonly storeChanged = new Set<() => void>();
  private readonly stopping = new AbortController();
  private readonly registry: TriggerRegistry;
  private readonly executor: TriggerExecutor<ConsumedAction>;
  private readonly records: BusProducers;
  private readonly attempts: BusAttemptLog;

  constructor(private readonly options: TriggerRunnerOptions) {
    const { clients, logger, settings } = options;
    this.reconciles = new SerialReconcile({
      run: () => this.reconcileTopics(),
      logger,
      what: 'consumer restart',
    });
    this.records = clients.producers({ onBatch: processMetrics().batchObserver('outcomes') });
    this.registry = createTriggerRegistry({
      logger,
      ...(settings.slackApiUrl ? { slackApiUrl: settings.slackApiUrl } : {}),
      ...(settings.lambdaEndpoint ? { lambdaEndpoint: settings.lambdaEndpoint } : {}),
      // Loaded when a k8s or argoWorkflow trigger first runs: a service without them needs no cluster.
      kubeConfig: () => loadKubeConfig(settings.kubeconfig),
      ...(settings.argoServerUrl
        ? {
            argoServer: {
              url: settings.argoServerUrl,
              ...(settings.argoServerToken ? { token: settings.argoServerToken } : {}),
              rejectUnauthorized: !settings.argoServerInsecure,
            },
          }
        : {}),
    });
    this.attempts = new BusAttemptLog({
      clients,
      records: this.records,
      logger,
      ...(options.instanceId ? { instanceId: options.instanceId } : {}),
    });
    this.executor = new TriggerExecutor<ConsumedAction>({
      plugins: this.registry,
      secrets: options.secrets,
      logger,
      maxConcurrencyPerTrigger: settings.concurrencyPerTrigger,
      maxBuffered: settings.maxBuffered,
      maxBufferedPerTrigger: settings.maxBufferedPerTrigger,
      recordOutcome: (outcome, consumed) => this.recordOutcome(outcome, consumed),
      recordDeadLetter: (record, consumed) => this.recordDeadLetter(record, consumed),
      aroundAction: (consumed, run) => this.traced(consumed, run),
      attemptLog: this.attempts,
    });
  }

  /** True once the loop over every bus's actions topic joined its group (readiness). */
  get ready(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.options.store.onChange((change) => {
      if (change.key.startsWith('Sensor/'))
        if (change.type === 'delete') this.deletedSensors.add(change.key);
        else this.deletedSensors.delete(change.key);
      for (const wake of this.storeChanged) wake();
      // Logged and retried by `reconciles`.
      this.reconciles.request().catch(() => undefined);
    });
    await this.reconciles.request();
  }

  private async reconcileTopics(): Promise<void> {
    const { clients, logger } = this.options;
    const wanted = new Map<string, string[]>();
    for (const b of this.options.store.list<EventBus>('EventBus').filter((b) => b.spec.kafka)) {
      const cluster = clients.clusterOf(b);
      wanted.set(
        cluster,
        [...new Set([...(wanted.get(cluster) ?? []), busTopics(eventBusTopic(b)).actions])].sort(),
      );
    }
    const changed = [...new Set([...this.topics.keys(), ...wanted.keys()])].filter(
      (c) => (wanted.get(c) ?? []).join(',') !== (this.topics.get(c) ?? []).join(','),
    );
    if (changed.length === 0) {
      this.running = true;
      return;
    }
    this.running = false;
    for (const cluster of changed) {
      await this.loops.get(cluster)?.stop();
      this.loops.delete(cluster);
      this.topics.delete(cluster);
      const topics = wanted.get(cluster);
      if (!topics) {
        await this.attempts.drop(cluster);
        continue;
      }
      let loop: PipelinedLoop | undefined;
      try {
        // Retry progress first: a resumed action must see where its attempts stood.
        await this.attempts.open(
          cluster,
          topics.map((t) => busTopics(t.slice(0, -ACTIONS_SUFFIX.length))),
        );
        loop = new PipelinedLoop({
          kafka: clients.client(cluster),
          groupId: CONSUMER_GROUP,
          topics,
          logger,
          admit: (message, topic, partition) => this.admit(message, topic, partition, cluster),
        });
        // In `loops` while it starts, so that a reconcile running meanwhile (or `stop`) stops it.
        this.loops.set(cluster, loop);
        this.topics.set(cluster, topics);
        await loop.start();
        await loop.joined;
      } catch (err) {
        // Nothing of a cluster that failed to start is kept (unless a reconcile running meanwhile
        // started it again): what started, its loop and its attempt log's mirror, is stopped and
        // its topics are not recorded, so the next reconcile (the next resource change) starts it.
        const ours = this.loops.get(cluster) === loop;
        if (ours) {
          this.loops.delete(cluster);
          this.topics.delete(cluster);
        }
        this.running = false;
        await loop?.stop().catch(() => undefined);
        if (ours) await this.attempts.drop(cluster).catch(() => undefined);
        throw err;
      }
      logger.info('consuming', { topics, cluster });
    }
    this.running = true;
  }

  private async admit(
    message: KafkaMessage,
    topic: string,
    partition: number,
    cluster: string,
  ): Promise<{ done: Promise<void>; parked?: () => boolean }> {
    let action: ActionRecord;
    try {
      action = decodeActionRecord(message.value);
    } catch (err) {
      this.options.logger.error('skipping malformed action record', {
        topic,
        offset: message.offset,
        error: err,
      });
      return { done: Promise.resolve() };
    }
    const bus = { ...busTopics(topic.slice(0, -ACTIONS_SUFFIX.length)), cluster };
    const source = {
      topic,
      partition,
      offset: message.offset,
      headers: headerMap(message.headers),
    };
    const authority = await this.authorize(action, message.key?.toString('utf8') ?? '');
    if (authority.verdict !== 'run')
      return { done: this.reject({ action, bus, source }, authority.reason) };
    // Who the trigger acts as comes from the Sensor, never from the record.
    const { runAs: _ignored, ...recorded } = action;
    const account = authority.sensor.spec.template?.serviceAccountName || 'default';
    const runs: ActionRecord = {
      ...recorded,
      trigger: authority.trigger,
      ...(this.options.settings.impersonate
        ? { runAs: `system:serviceaccount:${action.namespace}:${account}` }
        : {}),
    };
    return this.executor.submit({ action: runs, bus, source });
  }

  /**
   * The trigger to execute for an action: its Sensor's current one from the store
   * (`authorizeAction`). An action for a Sensor generation the store has not seen yet waits,
   * up to `storeWaitMs`, for the store to catch up (the sensor may read the resources topic
   * ahead of this process).
   */
  private async authorize(
    action: ActionRecord,
    key: string,
  ): Promise<ReturnType<typeof authorizeAction>> {
    const deadline = performance.now() + (this.options.storeWaitMs ?? 30_000);
    for (;;) {
      const sensor = this.options.store.get<Sensor>('Sensor', action.namespace, action.sensor);
      const deleted = this.deletedSensors.has(
        resourceKey('Sensor', action.namespace, action.sensor),
      );
      const remaining = deadline - performance.now();
      const authority = authorizeAction({ action, key, sensor, deleted, final: remaining <= 0 });
      if (authority.verdict !== 'wait') return authority;
      if (this.stopping.signal.aborted) throw new Error('trigger runner is stopping');
      let wake!: () => void;
      const changed = new Promise<void>((r) => (wake = r));
      this.storeChanged.add(wake);
      const timer = setTimeout(wake, remaining);
      this.stopping.signal.addEventListener('abort', wake, { once: true });
      await changed;
      clearTimeout(timer);
      this.storeChanged.delete(wake);
      this.stopping.signal.removeEventListener('abort', wake);
    }
  }

  /**
   * An action that must not run: an `error` outcome naming why, and the action on the DLQ
   * (redrivable once its Sensor is back); resolves once both are acknowledged.
   */
  private async reject(consumed: ConsumedAction, reason: string): Promise<void> {
    const { action } = consumed;
    const at = new Date().toISOString();
    this.options.logger.warn('action rejected', { actionId: action.actionId, reason });
    const dead: DeadLetterRecord = { v: 1, action, status: 'error', errors: [reason], at };
    const outcome: ActionOutcome = {
      v: 1,
      kind: 'action',
      actionId: action.actionId,
      namespace: action.namespace,
      sensor: action.sensor,
      trigger: action.trigger.template.name,
      at,
      status: 'error',
      attempts: 0,
      detail: reason,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.recordDeadLetter(dead, consumed);
        await this.recordOutcome(outcome, consumed);
        return;
      } catch (err) {
        if (this.stopping.signal.aborted) throw err;
        this.options.logger.warn('recording a rejected action failed; retrying', { error: err });
        await new Promise((r) => setTimeout(r, cappedDoubling(100, 5_000, attempt)));
      }
    }
  }

  /**
   * One action's run inside a consumer span `process <actions topic>` continuing the sensor's
   * trace (from the record's headers) and a `trigger <type>` span, so the plugin's outbound
   * call (instrumented fetch) and the outcome's `send` span join the trace; Argo's action metrics.
   */
  private async traced(
    { action, source }: ConsumedAction,
    run: () => Promise<ActionOutcome>,
  ): Promise<ActionOutcome> {
    const template = action.trigger.template;
    const type =
      TRIGGER_TYPES.find((t) => template[t] !== undefined && template[t] !== null) ?? 'unknown';
    const labels = {
      namespace: action.namespace,
      sensor_name: action.sensor,
      trigger_name: template.name,
    };
    const attributes = {
      'ganglion.namespace': action.namespace,
      'ganglion.sensor': action.sensor,
      'ganglion.trigger': template.name,
      'ganglion.action.id': action.actionId,
    };
    const started = performance.now();
    const body = (): Promise<ActionOutcome> =>
      inSpan(`trigger ${type}`, { attributes }, async (span) => {
        const outcome = await run();
        if (outcome.status !== 'succeeded') span.setStatus({ code: 2, message: outcome.detail });
        span.setAttribute('ganglion.action.attempts', outcome.attempts);
        return outcome;
      });
    const info = {
      partition: source.partition,
      offset: source.offset,
      consumerGroup: CONSUMER_GROUP,
      attributes: { 'ganglion.action.id': action.actionId },
    };
    const outcome = await withProcessSpan(source.topic, source.headers, info, body);
    const ok = outcome.status === 'succeeded';
    processMetrics().actionExecuted(
      labels,
      ok,
      performance.now() - started,
      !ok && action.trigger.retryStrategy !== undefined && outcome.attempts > 1,
    );
    return outcome;
  }

  /** A record to one of the bus's topics inside a producer span `send <topic>`; resolves once acknowledged. */
  private send(cluster: string, topic: string, key: string, value: unknown): Promise<void> {
    const headers: Record<string, string> = { ...JSON_HEADERS };
    return withSendSpan(topic, headers, { key }, () =>
      this.records.forCluster(cluster).send({ topic, key, value: JSON.stringify(value), headers }),
    );
  }

  /** Outcomes and dead letters carry no URL credentials: userinfo and query strings are removed from their messages. */
  private recordOutcome(outcome: ActionOutcome, { bus }: ConsumedAction): Promise<void> {
    return this.send(bus.cluster, bus.outcomes, outcome.actionId, {
      ...outcome,
      detail: redactUrls(outcome.detail),
    });
  }

  private recordDeadLetter(
    record: DeadLetterRecord,
    { action, bus }: ConsumedAction,
  ): Promise<void> {
    return this.send(
      bus.cluster,
      bus.dlq,
      `${action.namespace}/${action.sensor}/${action.trigger.template.name}`,
      {
        ...record,
        errors: record.errors.map(redactUrls),
        ...(record.dlqTrigger
          ? { dlqTrigger: { ...record.dlqTrigger, detail: redactUrls(record.dlqTrigger.detail) } }
          : {}),
      },
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.unsubscribe?.();
    await this.reconciles.stop();
    // Close the executor first: it wakes an admission waiting for room, so the loop can stop.
    await this.executor.close();
    for (const loop of this.loops.values()) await loop.stop();
    await closeTriggerRegistry(this.registry);
    await this.attempts.close();
    await this.records.close();
  }
}
