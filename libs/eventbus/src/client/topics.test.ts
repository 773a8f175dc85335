import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, ConfigResourceTypes } from 'kafkajs';
import type { EventBus } from '@ganglion/api';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix } from '@ganglion/testing';
import { createKafka } from './client.js';
import {
  busTopicConfigs,
  busTopicPolicy,
  busTopics,
  DEFAULT_TOPIC_POLICY,
  ensureTopics,
  resourcesTopicConfig,
  TOPIC_ANNOTATIONS,
} from './topics.js';

const logger = createLogger('test', { level: 'error' });
const HOUR = 3600_000;
/** `ConfigResourceTypes.TOPIC` (kafkajs exports the enum from CommonJS, out of reach of a named ESM import). */
const TOPIC = 2 as ConfigResourceTypes;

const bus = (annotations?: Record<string, string>): EventBus => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'EventBus',
  metadata: { name: 'default', namespace: 'default', ...(annotations ? { annotations } : {}) },
  spec: { kafka: {} },
});

/** The entries of one topic config, as a plain object. */
const entries = (c: {
  configEntries?: { name: string; value: string }[];
}): Record<string, string> =>
  Object.fromEntries((c.configEntries ?? []).map((e) => [e.name, e.value]));

describe('bus topic configurations', () => {
  it('replication 3: min.insync.replicas 2, retention per topic, DLQ long, join state compacted', () => {
    const configs = busTopicConfigs(busTopics('p'), { partitions: 3, replicationFactor: 3 });
    const byName = new Map(configs.map((c) => [c.topic, c]));
    for (const c of configs) {
      assert.equal(c.replicationFactor, 3);
      assert.equal(entries(c)['min.insync.replicas'], '2', c.topic);
      assert.equal(entries(c)['max.message.bytes'], String(8 * 1024 * 1024), c.topic);
    }
    for (const t of ['p', 'p-joins', 'p-actions', 'p-outcomes'])
      assert.equal(entries(byName.get(t)!)['retention.ms'], String(168 * HOUR), t);
    assert.equal(entries(byName.get('p-dlq')!)['retention.ms'], String(720 * HOUR));
    assert.equal(entries(byName.get('p-join-state')!)['cleanup.policy'], 'compact');
    assert.equal(entries(byName.get('p-join-state')!)['retention.ms'], undefined);
  });

  for (const [rf, isr] of [
    [1, '1'],
    [2, '1'],
    [3, '2'],
    [5, '2'],
  ] as const)
    it(`replication ${rf} gets min.insync.replicas ${isr}`, () => {
      const [events] = busTopicConfigs(busTopics('p'), { partitions: 1, replicationFactor: rf });
      assert.equal(entries(events!)['min.insync.replicas'], isr);
    });

  it('replication 0 (auto) leaves min.insync.replicas to ensureTopics', () => {
    const [events] = busTopicConfigs(busTopics('p'), { partitions: 1, replicationFactor: 0 });
    assert.equal(events!.replicationFactor, 0);
    assert.equal(entries(events!)['min.insync.replicas'], undefined);
  });

  it('an EventBus overrides the installation with annotations', () => {
    const policy = busTopicPolicy(
      bus({
        [TOPIC_ANNOTATIONS.replicationFactor]: '5',
        [TOPIC_ANNOTATIONS.minInsyncReplicas]: '3',
        [TOPIC_ANNOTATIONS.retentionHours]: '24',
        [TOPIC_ANNOTATIONS.dlqRetentionHours]: '48',
      }),
      DEFAULT_TOPIC_POLICY,
    );
    assert.deepEqual(policy, {
      ...DEFAULT_TOPIC_POLICY,
      replicationFactor: 5,
      minInsyncReplicas: 3,
      retentionMs: 24 * HOUR,
      dlqRetentionMs: 48 * HOUR,
    });
    assert.deepEqual(busTopicPolicy(bus(), DEFAULT_TOPIC_POLICY), DEFAULT_TOPIC_POLICY);
  });

  for (const bad of ['0', '-1', 'three', '1.5'])
    it(`a bad annotation value (${bad}) is an error naming the annotation`, () =>
      assert.throws(
        () =>
          busTopicPolicy(bus({ [TOPIC_ANNOTATIONS.replicationFactor]: bad }), DEFAULT_TOPIC_POLICY),
        /metadata\.annotations\["ganglion\.io\/replication-factor"\] must be an integer/,
      ));
});

/** The configs the broker reports for the topics ensureTopics created (admin describeConfigs). */
describe(
  'ensureTopics on a real broker: describeConfigs shows the policy',
  { timeout: 120_000 },
  () => {
    let admin: Admin;
    const prefix = uniquePrefix('topic-configs');

    before(async () => {
      admin = createKafka({ brokers: [await kafkaBrokers()], clientId: prefix, logger }).admin();
      await admin.connect();
    });
    after(async () => {
      await admin?.disconnect();
    });

    async function describe(topic: string): Promise<Record<string, string>> {
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: TOPIC, name: topic }],
      });
      return Object.fromEntries(
        res.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]),
      );
    }

    it('auto replication on a one-broker cluster: replication 1, min.insync.replicas 1; the rest as configured', async () => {
      const topics = busTopics(`${prefix}-bus`);
      const created = await ensureTopics(
        admin,
        busTopicConfigs(topics, {
          ...busTopicPolicy(
            bus({ [TOPIC_ANNOTATIONS.dlqRetentionHours]: '1000' }),
            DEFAULT_TOPIC_POLICY,
          ),
          partitions: 2,
        }),
      );
      assert.equal(created.length, 7);
      const meta = await admin.fetchTopicMetadata({ topics: [topics.events] });
      assert.deepEqual(
        meta.topics[0]!.partitions.map((p) => p.replicas.length),
        [1, 1],
      );
      const events = await describe(topics.events);
      assert.equal(events['min.insync.replicas'], '1');
      assert.equal(events['max.message.bytes'], String(8 * 1024 * 1024));
      assert.equal(events['retention.ms'], String(168 * HOUR));
      assert.equal(events['cleanup.policy'], 'delete');
      assert.equal((await describe(topics.dlq))['retention.ms'], String(1000 * HOUR));
      assert.equal((await describe(topics.joinState))['cleanup.policy'], 'compact');
      assert.equal((await describe(topics.actions))['retention.ms'], String(168 * HOUR));
      const attempts = await describe(topics.attempts);
      assert.equal(attempts['cleanup.policy'], 'compact,delete');
      assert.equal(attempts['min.insync.replicas'], '1');
    });

    it('the resources topic is compacted, with min.insync.replicas', async () => {
      const topic = `${prefix}-resources`;
      await ensureTopics(admin, [resourcesTopicConfig(topic, 0)]);
      const got = await describe(topic);
      assert.equal(got['cleanup.policy'], 'compact');
      assert.equal(got['min.insync.replicas'], '1');
    });
  },
);
