import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { eventBusTopic, TRIGGER_TYPES, type EventBus, type TriggerType } from '@ganglion/api';
import { applyParameters, decodeActionRecord, ParameterError, type ActionRecord, type OutcomeRecord } from '@ganglion/core';
import { AtLeastOnceLoop, BatchingProducer, busTopics, headerMap, type Kafka, type KafkaMessage } from '@ganglion/eventbus';
import { LocalSecretResolver } from '@ganglion/k8s';
import { CONFIG, ENV, HealthService, KAFKA, LOGGER, ResourceStoreService, type ServiceConfig } from '@ganglion/nest';
import { inSpan, processMetrics, withProcessSpan, withSendSpan, type Logger } from '@ganglion/telemetry';
import { createTriggerRegistry, type TriggerRegistry, type TriggerResult } from '@ganglion/triggers';

const ACTIONS_SUFFIX = busTopics('x').actions.slice(1);

/**
 * Executes the actions of every EventBus: resolves the trigger's parameters, runs its plugin
 * and records the outcome, then commits the action's offset (at least once; the action id is
 * the idempotency key towards the target).
 */
@Injectable()
export class TriggerRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private loop: AtLeastOnceLoop | undefined;
  private topics: string[] = [];
  private restarting: Promise<void> = Promise.resolve();
  private running = false;
  private readonly registry: TriggerRegistry = createTriggerRegistry();
  private readonly outcomes: BatchingProducer;
  private readonly secrets: LocalSecretResolver;

  constructor(
    @Inject(CONFIG) config: ServiceConfig,
    @Inject(ENV) env: Record<string, string | undefined>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly store: ResourceStoreService,
    health: HealthService,
  ) {
    this.outcomes = new BatchingProducer(kafka, { logger, onBatch: processMetrics().batchObserver('outcomes') });
    this.secrets = new LocalSecretResolver(config.secretsDir, env);
    health.addReadinessCheck('consumer', () => this.running);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.store.onChange(() => {
      this.restarting = this.restarting.then(() => this.reconcileTopics()).catch((err: unknown) => this.logger.error('consumer restart failed', { error: err }));
    });
    await this.reconcileTopics();
  }

  private async reconcileTopics(): Promise<void> {
    const wanted = [...new Set(this.store.list<EventBus>('EventBus').filter((b) => b.spec.kafka).map((b) => busTopics(eventBusTopic(b)).actions))].sort();
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
      return;
    }
    this.loop = new AtLeastOnceLoop({
      kafka: this.kafka,
      groupId: 'ganglion-trigger',
      topics: wanted,
      logger: this.logger,
      handle: (message, topic, partition) =>
        withProcessSpan(topic, headerMap(message.headers), { partition, offset: message.offset, consumerGroup: 'ganglion-trigger' }, () => this.handle(message, topic)),
    });
    await this.loop.start();
    await this.loop.joined;
    this.running = true;
    this.logger.info('consuming', { topics: wanted });
  }

  private async handle(message: KafkaMessage, topic: string): Promise<Promise<void> | void> {
    const outcomesTopic = busTopics(topic.slice(0, -ACTIONS_SUFFIX.length)).outcomes;
    let action: ActionRecord;
    try {
      action = decodeActionRecord(message.value);
    } catch (err) {
      this.logger.error('skipping malformed action record', { topic, offset: message.offset, error: err });
      return;
    }
    const name = action.trigger.template.name;
    const log = this.logger.child({ actionId: action.actionId, trigger: `${action.namespace}/${action.sensor}/${name}` });
    const started = Date.now();
    const attributes = { 'ganglion.namespace': action.namespace, 'ganglion.sensor': action.sensor, 'ganglion.trigger': name, 'ganglion.action.id': action.actionId };
    const type = TRIGGER_TYPES.find((t) => action.trigger.template[t] !== undefined) ?? 'unknown';
    const result = await inSpan(`trigger ${type}`, { attributes }, async (span) => {
      const r = await this.execute(action, log);
      if (r.status !== 'succeeded') span.setStatus({ code: 2, message: r.detail });
      return r;
    });
    processMetrics().actionExecuted({ namespace: action.namespace, sensor_name: action.sensor, trigger_name: name }, result.status === 'succeeded', Date.now() - started);
    const outcome: OutcomeRecord = {
      v: 1,
      kind: 'action',
      actionId: action.actionId,
      namespace: action.namespace,
      sensor: action.sensor,
      trigger: name,
      at: new Date().toISOString(),
      status: result.status,
      attempts: 1,
      detail: result.detail,
    };
    log[result.status === 'succeeded' ? 'info' : 'warn'](`action ${result.status}`, { detail: result.detail, ms: Date.now() - started });
    // The outcome must be durable before the action's offset is committed (the loop awaits it).
    const headers = { 'content-type': 'application/json' };
    return withSendSpan(outcomesTopic, headers, { key: action.actionId }, () => this.outcomes.send({ topic: outcomesTopic, key: action.actionId, value: JSON.stringify(outcome), headers }));
  }

  private async execute(action: ActionRecord, log: Logger): Promise<{ status: 'succeeded' | 'failed' | 'unsupported'; detail: string }> {
    const template = action.trigger.template;
    const type = TRIGGER_TYPES.find((t) => template[t] !== undefined) as TriggerType | undefined;
    if (!type) return { status: 'unsupported', detail: 'the trigger template names no trigger type' };
    if (!(type in this.registry)) return { status: 'unsupported', detail: `trigger type "${type}" is not supported by this release of Ganglion` };
    let resolvedTemplate: Record<string, unknown>;
    try {
      resolvedTemplate = applyParameters(template, action.trigger.parameters, action.events) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof ParameterError) return { status: 'failed', detail: err.message };
      throw err;
    }
    const plugin = this.registry[type as keyof TriggerRegistry];
    let result: TriggerResult;
    try {
      result = await plugin.execute(resolvedTemplate[type] as never, action.trigger, action.events, {
        namespace: action.namespace,
        sensorName: action.sensor,
        triggerName: template.name,
        actionId: action.actionId,
        logger: log,
        secrets: this.secrets,
        now: () => new Date(),
      });
    } catch (err) {
      result = { ok: false, error: `trigger crashed: ${(err as Error).message}`, retryable: false };
    }
    return result.ok ? { status: 'succeeded', detail: result.detail } : { status: 'failed', detail: result.error };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.restarting;
    await this.loop?.stop();
    await this.outcomes.close();
  }
}
