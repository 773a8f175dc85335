import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyResource, EventBus, Sensor } from '@ganglion/api';
import type { ActionRecord, OutcomeRecord } from '@ganglion/core';
import {
  busTopicConfigs,
  busTopics,
  CloudEvent,
  createKafka,
  encodeCloudEvent,
  ensureTopics,
  TopicReader,
  type Admin,
  type Kafka,
} from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { changelogMirrorMembers, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { DEFAULT_SENSOR_SETTINGS, SensorRunner } from './sensor.runner.js';

/** The resources a runner reads, as the resources topic would hold them (list, get, change). */
class Resources {
  private readonly items: AnyResource[] = [];
  private readonly listeners = new Set<() => void>();
  put(r: AnyResource): void {
    this.items.push(r);
    for (const l of this.listeners) l();
  }
  list<T extends AnyResource>(kind: T['kind']): T[] {
    return this.items.filter((r) => r.kind === kind) as T[];
  }
  get<T extends AnyResource>(kind: T['kind'], namespace: string, name: string): T | undefined {
    return this.items.find(
      (r) => r.kind === kind && r.metadata.namespace === namespace && r.metadata.name === name,
    ) as T | undefined;
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The EventBus `ns/default` on the cluster `brokers`, its events on `topic`. */
const defaultBus = (brokers: string, topic: string): EventBus =>
  ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'EventBus',
    metadata: { name: 'default', namespace: 'ns' },
    spec: { kafka: { url: brokers, topic } },
  }) as EventBus;

/** Writes one CloudEvent (type `webhook`, key `<source>.<subject>`) to an event topic. */
async function sendEvent(
  kafka: Kafka,
  topic: string,
  id: string,
  source: string,
  subject: string,
  data: unknown,
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  const rec = encodeCloudEvent(
    new CloudEvent<unknown>({
      id,
      source,
      subject,
      type: 'webhook',
      datacontenttype: 'application/json',
      data,
    }),
    `${source}.${subject}`,
  );
  await producer.send({ topic, messages: [rec] });
  await producer.disconnect();
}

/**
 * The sensor stage on a real broker: one exactly-once loop per bus; a join's first event is
 * stored in the `P-join-state` changelog in the transaction of its outcome, and a new runner
 * (another replica, a restart) restores it when it opens the `P-joins` partition, so the second
 * event fires the trigger with both.
 */
for (const transactionScope of ['partition', 'replica'] as const)
  describe(
    `SensorRunner on a real Kafka broker, ${transactionScope} transaction scope`,
    { timeout: 240_000 },
    () => {
      const logger = createLogger('sensor-runner-test', { level: 'error' });
      const prefix = uniquePrefix(`sensorlib-${transactionScope}`);
      const topics = busTopics(`${prefix}-bus`);
      const resources = new Resources();
      const outcomes: OutcomeRecord[] = [];
      const actions: ActionRecord[] = [];
      const stops: (() => Promise<void>)[] = [];
      let kafka: Kafka;
      let runner: SensorRunner | undefined;

      const start = async (): Promise<SensorRunner> => {
        const r = new SensorRunner({
          clients: { clusterOf: () => 'test', client: () => kafka },
          store: resources,
          logger,
          settings: {
            ...DEFAULT_SENSOR_SETTINGS,
            concurrency: 2,
            fetchWaitMs: 10,
            commitIntervalMs: 0,
            transactionScope,
          },
          instanceId: prefix,
        });
        await r.start();
        return r;
      };
      const send = (id: string, source: string, subject: string, data: unknown) =>
        sendEvent(kafka, topics.events, id, source, subject, data);
      const joinOutcome = (eventId: string) =>
        outcomes.find((o) => o.kind === 'join' && o.eventId === eventId) as
          Extract<OutcomeRecord, { kind: 'join' }> | undefined;

      before(async () => {
        const brokers = await kafkaBrokers();
        kafka = createKafka({
          brokers: brokers.split(','),
          clientId: 'sensor-runner-test',
          logger,
        });
        const admin = kafka.admin();
        await admin.connect();
        await ensureTopics(admin, busTopicConfigs(topics, { partitions: 2, replicationFactor: 1 }));
        await admin.disconnect();
        const reader = new TopicReader({
          kafka,
          topics: [topics.outcomes, topics.actions],
          logger,
          onRecord: (topic, _partition, m) =>
            void (topic === topics.outcomes ? outcomes : actions).push(
              JSON.parse(m.value!.toString()),
            ),
        });
        await reader.start();
        stops.push(() => reader.stop());
        resources.put(defaultBus(brokers, topics.events));
      });

      after(async () => {
        await runner?.stop();
        for (const s of stops) await s();
      });

      it('starts a bus loop when a Sensor appears, fires single-dependency triggers, and keeps a join across a restart', async () => {
        runner = await start();
        assert.equal(runner.ready, true, 'no sensor yet: nothing to consume, ready');
        resources.put({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Sensor',
          metadata: { name: 's', namespace: 'ns' },
          spec: {
            dependencies: [
              { name: 'a', eventSourceName: 'hooks', eventName: 'push' },
              { name: 'b', eventSourceName: 'cron', eventName: 'tick' },
            ],
            triggers: [
              { template: { name: 'both', log: {} } },
              { template: { name: 'onA', log: {}, conditions: 'a' } },
            ],
          },
        } as unknown as Sensor);
        await send(`${prefix}-a`, 'hooks', 'push', { n: 1 });
        await waitFor(() => joinOutcome(`${prefix}-a`), {
          timeoutMs: 60_000,
          what: 'the join outcome of the first event',
        });
        assert.equal(joinOutcome(`${prefix}-a`)!.result, 'waiting');
        await waitFor(() => actions.find((a) => a.trigger.template.name === 'onA'), {
          timeoutMs: 30_000,
          what: 'the single-dependency action',
        });
        assert.equal(actions.filter((a) => a.trigger.template.name === 'both').length, 0);

        // A new runner (the old one gone) restores the join state from the changelog.
        await runner.stop();
        runner = await start();
        await waitFor(() => runner!.ready, { timeoutMs: 60_000, what: 'the new runner to join' });
        await send(`${prefix}-b`, 'cron', 'tick', { n: 2 });
        const fired = await waitFor(() => joinOutcome(`${prefix}-b`), {
          timeoutMs: 90_000,
          what: 'the join outcome of the second event',
        });
        assert.equal(fired.result, 'fired');
        assert.deepEqual(fired.have, ['a', 'b']);
        // The action is in the transaction of that outcome: visible with it.
        const both = actions.filter((a) => a.trigger.template.name === 'both');
        assert.equal(both.length, 1);
        assert.equal(both[0]!.actionId, fired.actionId);
        assert.deepEqual(
          Object.fromEntries(
            Object.entries(both[0]!.events).map(([dep, e]) => [dep, e.context.id]),
          ),
          { a: `${prefix}-a`, b: `${prefix}-b` },
        );
      });

      it('a poisoned Sensor (the issue 17 jq and Lua reproductions) gets `error` decisions while a healthy one on the same bus fires, and the partition moves on', async () => {
        runner ??= await start();
        const sensorOf = (name: string, deps: object[]) =>
          ({
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Sensor',
            metadata: { name, namespace: 'ns' },
            spec: { dependencies: deps, triggers: [{ template: { name: 't', log: {} } }] },
          }) as unknown as Sensor;
        resources.put(
          sensorOf('poisoned', [
            {
              name: 'doubling',
              eventSourceName: 'hooks',
              eventName: 'poke',
              transform: { jq: 'reduce range(26) as $i (.; [., .]) | tojson' },
            },
            {
              name: 'backtracking',
              eventSourceName: 'hooks',
              eventName: 'poke',
              transform: { script: 'return {string.find(("a"):rep(800), ".-.-.-b")}' },
            },
          ]),
        );
        resources.put(
          sensorOf('healthy', [{ name: 'd', eventSourceName: 'hooks', eventName: 'poke' }]),
        );
        // Both records have one key, so one partition: the second is processed after the first.
        const ids = [`${prefix}-p1`, `${prefix}-p2`];
        for (const id of ids) await send(id, 'hooks', 'poke', { n: 1 });
        for (const id of ids) {
          const action = await waitFor(
            () => actions.find((a) => a.sensor === 'healthy' && a.events['d']?.context.id === id),
            { timeoutMs: 60_000, what: `the healthy sensor's action for ${id}` },
          );
          assert.equal(action.trigger.template.name, 't');
          const outcome = await waitFor(
            () =>
              outcomes.find(
                (o): o is Extract<OutcomeRecord, { kind: 'event' }> =>
                  o.kind === 'event' && o.eventId === id,
              ),
            { timeoutMs: 30_000, what: `the outcome of ${id}` },
          );
          const errors = outcome.decisions.filter((d) => d.sensor === 'poisoned');
          assert.deepEqual(
            errors.map((d) => `${d.namespace}/${d.sensor}/${d.dependency}:${d.result}`),
            ['ns/poisoned/doubling:error', 'ns/poisoned/backtracking:error'],
          );
          assert.match(errors[0]!.reason!, /value size limit/);
          assert.match(errors[1]!.reason!, /deadline of 2000 ms/);
        }
        assert.equal(actions.filter((a) => a.sensor === 'poisoned').length, 0);
      });
    },
  );

/**
 * A bus whose loop cannot start (its event and joins topics do not exist yet; the broker does not
 * create topics) fails the runner's start, leaves nothing running (its changelog mirror, which
 * did start, is stopped: its reader leaves its group) and is started again by the next resource
 * change once the topics exist.
 */
describe('SensorRunner, a bus that fails to start', { timeout: 180_000 }, () => {
  const logger = createLogger('sensor-runner-test', { level: 'error' });
  const prefix = uniquePrefix('sensorlib-failed-start');
  const topics = busTopics(`${prefix}-bus`);
  const resources = new Resources();
  const actions: ActionRecord[] = [];
  const stops: (() => Promise<void>)[] = [];
  let kafka: Kafka;
  /** The runner's client: its own client id tells its mirror's group members apart. */
  let runnerKafka: Kafka;
  let admin: Admin;
  const sensor = (name: string) =>
    ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name, namespace: 'ns' },
      spec: {
        dependencies: [{ name: 'd', eventSourceName: 'hooks', eventName: 'push' }],
        triggers: [{ template: { name: 't', log: {} } }],
      },
    }) as unknown as Sensor;
  /** Members of changelog readers' groups (a mirror's) with the runner's client id. */
  const mirrorMembers = (): Promise<number> => changelogMirrorMembers(admin, `${prefix}-runner`);

  before(async () => {
    const brokers = await kafkaBrokers();
    kafka = createKafka({ brokers: brokers.split(','), clientId: 'sensor-runner-test', logger });
    runnerKafka = createKafka({
      brokers: brokers.split(','),
      clientId: `${prefix}-runner`,
      logger,
    });
    admin = kafka.admin();
    await admin.connect();
    stops.push(() => admin.disconnect());
    // Only the join-state changelog: the mirror starts, the loop does not.
    await ensureTopics(
      admin,
      busTopicConfigs(topics, { partitions: 1, replicationFactor: 1 }).filter(
        (c) => c.topic === topics.joinState,
      ),
    );
    resources.put(defaultBus(brokers, topics.events));
    resources.put(sensor('first'));
  });

  after(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('stops what started, keeps the bus out, and starts it by itself once it can', async () => {
    const runner = new SensorRunner({
      clients: { clusterOf: () => 'test', client: () => runnerKafka },
      store: resources,
      logger,
      settings: DEFAULT_SENSOR_SETTINGS,
      instanceId: prefix,
    });
    stops.push(() => runner.stop());
    await assert.rejects(runner.start());
    assert.equal(runner.ready, false);
    await waitFor(async () => (await mirrorMembers()) === 0, {
      timeoutMs: 30_000,
      what: "the failed bus's changelog mirror to leave its group",
    });

    await ensureTopics(admin, busTopicConfigs(topics, { partitions: 1, replicationFactor: 1 }));
    const reader = new TopicReader({
      kafka,
      topics: [topics.actions],
      logger,
      onRecord: (_t, _p, m) => void actions.push(JSON.parse(m.value!.toString())),
    });
    await reader.start();
    stops.push(() => reader.stop());
    // No change needed: the runner tries the failed reconcile again by itself, backing off.
    await waitFor(() => runner.ready, {
      timeoutMs: 60_000,
      what: 'the bus to start on a retry',
    });
    resources.put(sensor('second'));
    await waitFor(async () => (await mirrorMembers()) === 1, {
      timeoutMs: 30_000,
      what: "the bus's changelog mirror to join its group",
    });
    await sendEvent(kafka, topics.events, `${prefix}-e`, 'hooks', 'push', { n: 1 });
    const fired = await waitFor(
      () =>
        ['first', 'second'].every((s) =>
          actions.some((a) => a.sensor === s && a.events['d']?.context.id === `${prefix}-e`),
        ),
      { timeoutMs: 60_000, what: 'both sensors to fire on the event' },
    );
    assert.equal(fired, true);
  });
});
