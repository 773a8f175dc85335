import type { Trigger } from '@ganglion/api';
import { actionId, triggerKey, type ActionRecord, type EventsByDependency } from '@ganglion/core';
import type { Kafka } from '@ganglion/eventbus';

/**
 * What the control plane and the sensor service write for the trigger service, in its tests:
 * Sensor `default/<sensor>` on the resources topic (the trigger service runs the Sensor's trigger
 * from there, not the record's copy) and actions of its triggers on the actions topic, with the
 * deterministic ids and the generation the sensor writes.
 */
export class SensorActions {
  /** The Sensor's triggers so far; each new or changed one publishes its next generation. */
  private readonly triggers = new Map<string, Trigger>();
  private generation = 0;
  private seq = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: { resources: string; actions: string },
    private readonly sensor: string,
    private readonly eventName: string,
    /** Prefix of the events' ids (unique per test run). */
    private readonly idPrefix: string,
  ) {}

  /** Publishes the Sensor with `trigger` among its triggers; returns the generation actions carry. */
  async publish(trigger: Trigger): Promise<number> {
    const name = trigger.template.name;
    if (JSON.stringify(this.triggers.get(name)) === JSON.stringify(trigger)) return this.generation;
    this.triggers.set(name, trigger);
    this.generation++;
    const sensor = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name: this.sensor, namespace: 'default', generation: this.generation },
      spec: {
        dependencies: [{ name: 'dep', eventSourceName: 'webhook', eventName: this.eventName }],
        triggers: [...this.triggers.values()],
      },
    };
    await this.produce(this.topics.resources, [
      { key: `Sensor/default/${this.sensor}`, value: JSON.stringify(sensor) },
    ]);
    return this.generation;
  }

  /** One action of `trigger` as the sensor service writes it (deterministic id, generation). */
  action(trigger: Trigger, generation: number, data: unknown = {}): ActionRecord {
    const events = {
      dep: {
        context: {
          id: `${this.idPrefix}-${++this.seq}`,
          source: 'webhook',
          specversion: '1.0',
          type: 'webhook',
          subject: this.eventName,
        },
        data,
      },
    } as unknown as EventsByDependency;
    return {
      v: 1,
      actionId: actionId(triggerKey('default', this.sensor, trigger.template.name), events),
      namespace: 'default',
      sensor: this.sensor,
      trigger,
      generation,
      events,
      createdAt: new Date().toISOString(),
    };
  }

  /** Publishes the Sensor, then sends `n` actions of `trigger` in one batch; returns them. */
  async send(trigger: Trigger, n: number, data: unknown = {}): Promise<ActionRecord[]> {
    const generation = await this.publish(trigger);
    const actions = Array.from({ length: n }, () => this.action(trigger, generation, data));
    await this.produce(
      this.topics.actions,
      actions.map((a) => ({
        key: `default/${this.sensor}/${trigger.template.name}`,
        value: JSON.stringify(a),
      })),
    );
    return actions;
  }

  private async produce(topic: string, messages: { key: string; value: string }[]): Promise<void> {
    const producer = this.kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages });
    } finally {
      await producer.disconnect();
    }
  }
}
