import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { eventBusTopic, TRIGGER_TYPES, type EventBus } from '@ganglion/api';
import { decodeActionRecord, type ActionRecord, type DeadLetterRecord } from '@ganglion/core';
import { busTopics, headerMap, PipelinedLoop, type BusClients, type BusProducers, type KafkaMessage } from '@ganglion/eventbus';
import { createSecretResolver, loadKubeConfig } from '@ganglion/k8s';
import { BUS_CLIENTS, CONFIG, ENV, HealthService, LOGGER, ResourceStoreService, type ServiceConfig } from '@ganglion/nest';
import { inSpan, processMetrics, withProcessSpan, withSendSpan, type Logger } from '@ganglion/telemetry';
import { closeTriggerRegistry, createTriggerRegistry, TriggerExecutor, type ActionOutcome, type TriggerRegistry } from '@ganglion/triggers';
import { parseTriggerConfig } from './trigger.config.js';

const ACTIONS_SUFFIX = busTopics('x').actions.slice(1);

/**
 * Executes the actions of every EventBus: a pipelined consumer of the `-actions` topics hands
 * each action to the executor (libs/triggers), which runs the trigger with its parameters,
 * policy, retries, rate limit and DLQ trigger; an action's offset is committed once its outcome
 * (and dead letter) records are acknowledged. At least once; the action id is the idempotency
 * key towards the target. Each cluster (BusClients) has its own consumer of its buses' action
 * topics, and an action's outcome and dead letter are produced on the cluster of the action.
 */
@Injectable()
export class TriggerRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  /** One consumer per cluster, over the action topics of that cluster's buses. */
  private readonly loops = new Map<string, PipelinedLoop>();
  private readonly topics = new Map<string, string[]>();
  private restarting: Promise<void> = Promise.resolve();
  private running = false;
  private readonly registry: TriggerRegistry;
  private readonly executor: TriggerExecutor;
  private readonly records: BusProducers;

  constructor(
    @Inject(CONFIG) config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(BUS_CLIENTS) private readonly clients: BusClients,
    private readonly store: ResourceStoreService,
    health: HealthService,
  ) {
    const settings = parseTriggerConfig(env);
    this.records = clients.producers({ onBatch: processMetrics().batchObserver('outcomes') });
    this.registry = createTriggerRegistry({
      logger,
      ...(settings.slackApiUrl ? { slackApiUrl: settings.slackApiUrl } : {}),
      ...(settings.lambdaEndpoint ? { lambdaEndpoint: settings.lambdaEndpoint } : {}),
      // Loaded when a k8s or argoWorkflow trigger first runs: a service without them needs no cluster.
      kubeConfig: () => loadKubeConfig(settings.kubeconfig),
      ...(settings.argoServerUrl
        ? { argoServer: { url: settings.argoServerUrl, ...(settings.argoServerToken ? { token: settings.argoServerToken } : {}), rejectUnauthorized: !settings.argoServerInsecure } }
        : {}),
    });
    this.executor = new TriggerExecutor({
      plugins: this.registry,
      secrets: createSecretResolver(config, env),
      logger,
      maxConcurrencyPerTrigger: settings.concurrencyPerTrigger,
      maxBuffered: settings.maxBuffered,
      maxBufferedPerTrigger: settings.maxBufferedPerTrigger,
      recordOutcome: (outcome, action) => this.recordOutcome(outcome, action),
      recordDeadLetter: (record) => this.recordDeadLetter(record),
      aroundAction: (action, run) => this.traced(action, run),
    });
    health.addReadinessCheck('consumer', () => this.running);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.store.onChange(() => {
      this.restarting = this.restarting.then(() => this.reconcileTopics()).catch((err: unknown) => this.logger.error('consumer restart failed', { error: err }));
    });
    await this.reconcileTopics();
  }

  private async reconcileTopics(): Promise<void> {
    const wanted = new Map<string, string[]>();
    for (const b of this.store.list<EventBus>('EventBus').filter((b) => b.spec.kafka)) {
      const cluster = this.clients.clusterOf(b);
      wanted.set(cluster, [...new Set([...(wanted.get(cluster) ?? []), busTopics(eventBusTopic(b)).actions])].sort());
    }
    const changed = [...new Set([...this.topics.keys(), ...wanted.keys()])].filter((c) => (wanted.get(c) ?? []).join(',') !== (this.topics.get(c) ?? []).join(','));
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
      if (!topics) continue;
      const loop = new PipelinedLoop({
        kafka: this.clients.client(cluster),
        groupId: 'ganglion-trigger',
        topics,
        logger: this.logger,
        admit: (message, topic, partition) => this.admit(message, topic, partition, cluster),
      });
      this.loops.set(cluster, loop);
      this.topics.set(cluster, topics);
      await loop.start();
      await loop.joined;
      this.logger.info('consuming', { topics, cluster });
    }
    this.running = true;
  }

  private busOf(actionsTopic: string, cluster: string): ActionBus {
    return { ...busTopics(actionsTopic.slice(0, -ACTIONS_SUFFIX.length)), cluster };
  }

  private async admit(message: KafkaMessage, topic: string, partition: number, cluster: string): Promise<{ done: Promise<void> }> {
    let action: ActionRecord;
    try {
      action = decodeActionRecord(message.value);
    } catch (err) {
      this.logger.error('skipping malformed action record', { topic, offset: message.offset, error: err });
      return { done: Promise.resolve() };
    }
    const bus = this.busOf(topic, cluster);
    (action as ActionRecord & { [BUS]?: typeof bus })[BUS] = bus;
    (action as ActionRecord & { [SOURCE]?: Source })[SOURCE] = { topic, partition, offset: message.offset, headers: headerMap(message.headers) };
    return this.executor.submit(action);
  }

  /**
   * One action's run inside a consumer span `process <actions topic>` continuing the sensor's
   * trace (from the record's headers) and a `trigger <type>` span, so the plugin's outbound
   * call (instrumented fetch) and the outcome's `send` span join the trace; Argo's action metrics.
   */
  private async traced(action: ActionRecord, run: () => Promise<ActionOutcome>): Promise<ActionOutcome> {
    const source = (action as ActionRecord & { [SOURCE]?: Source })[SOURCE];
    const template = action.trigger.template;
    const type = TRIGGER_TYPES.find((t) => template[t] !== undefined && template[t] !== null) ?? 'unknown';
    const labels = { namespace: action.namespace, sensor_name: action.sensor, trigger_name: template.name };
    const attributes = { 'ganglion.namespace': action.namespace, 'ganglion.sensor': action.sensor, 'ganglion.trigger': template.name, 'ganglion.action.id': action.actionId };
    const started = performance.now();
    const body = (): Promise<ActionOutcome> =>
      inSpan(`trigger ${type}`, { attributes }, async (span) => {
        const outcome = await run();
        if (outcome.status !== 'succeeded') span.setStatus({ code: 2, message: outcome.detail });
        span.setAttribute('ganglion.action.attempts', outcome.attempts);
        return outcome;
      });
    const outcome = await (source
      ? withProcessSpan(source.topic, source.headers, { partition: source.partition, offset: source.offset, consumerGroup: 'ganglion-trigger', attributes: { 'ganglion.action.id': action.actionId } }, body)
      : body());
    const ok = outcome.status === 'succeeded';
    processMetrics().actionExecuted(labels, ok, performance.now() - started, !ok && action.trigger.retryStrategy !== undefined && outcome.attempts > 1);
    return outcome;
  }

  private recordOutcome(outcome: ActionOutcome, action: ActionRecord): Promise<void> {
    const bus = (action as ActionRecord & { [BUS]?: ActionBus })[BUS]!;
    const headers = { 'content-type': 'application/json' };
    return withSendSpan(bus.outcomes, headers, { key: outcome.actionId }, () => this.records.forCluster(bus.cluster).send({ topic: bus.outcomes, key: outcome.actionId, value: JSON.stringify(outcome), headers }));
  }

  private recordDeadLetter(record: DeadLetterRecord): Promise<void> {
    const action = record.action as ActionRecord & { [BUS]?: ActionBus };
    const bus = action[BUS]!;
    const key = `${action.namespace}/${action.sensor}/${action.trigger.template.name}`;
    const headers = { 'content-type': 'application/json' };
    return withSendSpan(bus.dlq, headers, { key }, () => this.records.forCluster(bus.cluster).send({ topic: bus.dlq, key, value: JSON.stringify(record), headers }));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.restarting;
    // Close the executor first: it wakes an admission waiting for room, so the loop can stop.
    await this.executor.close();
    for (const loop of this.loops.values()) await loop.stop();
    await closeTriggerRegistry(this.registry);
    await this.records.close();
  }
}

/** Where an action came from (its bus), kept on the decoded record; symbols are not serialised. */
const BUS = Symbol('bus');
/** An action's bus: its topics and its cluster (BusClients key), where its outcome and dead letter go. */
type ActionBus = ReturnType<typeof busTopics> & { cluster: string };
/** The record an action was read from (for its trace context). */
const SOURCE = Symbol('source');
interface Source {
  topic: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}
