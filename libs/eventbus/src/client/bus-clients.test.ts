import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { EventBus } from '@ganglion/api';
import { createLogger } from '@ganglion/telemetry';
import { KafkaBroker, kafkaBrokers, uniquePrefix, waitFor } from '@ganglion/testing';
import { ConsumerActivity } from '../loops/consumer-activity.js';
import { BusUnavailableError } from '../producer/batching-producer.js';
import { BusClients, clusterKey } from './bus-clients.js';
import { ensureTopics } from './topics.js';

const logger = createLogger('test', { level: 'error' });

const eventBus = (name: string, url?: string): EventBus => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'EventBus',
  metadata: { name, namespace: 'default' },
  spec: { kafka: { topic: name, ...(url ? { url } : {}) } },
});

describe('clusterKey', () => {
  for (const [name, brokers, key] of [
    ['one broker', ['a:9092'], 'a:9092'],
    ['order and spaces do not matter', [' b:9092', 'a:9092 '], 'a:9092,b:9092'],
    [
      'host names are case-insensitive, duplicates count once',
      ['Kafka-1:9092', 'kafka-1:9092'],
      'kafka-1:9092',
    ],
    ['ports differ', ['a:9092', 'a:9093'], 'a:9092,a:9093'],
  ] as const)
    it(name, () => assert.equal(clusterKey([...brokers]), key));
});

/** Two real brokers: the installation's (the run's shared broker) and a second one this file starts. */
describe('BusClients on two real clusters', { timeout: 180_000 }, () => {
  let second: KafkaBroker;
  let installationBrokers: string;
  let clients: BusClients;
  const activity = new ConsumerActivity();
  const admins: Admin[] = [];
  const consumers: Consumer[] = [];
  const prefix = uniquePrefix('bus-clients');

  before(async () => {
    installationBrokers = await kafkaBrokers();
    second = await KafkaBroker.start();
    clients = new BusClients({
      brokers: installationBrokers.split(','),
      clientId: prefix,
      logger,
      activity,
    });
  });

  after(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await Promise.all(admins.map((a) => a.disconnect()));
    await clients?.close();
    await second?.destroy();
  });

  const adminOf = async (kafka: Kafka): Promise<Admin> => {
    const admin = kafka.admin();
    await admin.connect();
    admins.push(admin);
    return admin;
  };
  /** The values on `topic` of a cluster, read from the start by a fresh consumer. */
  const values = async (kafka: Kafka, topic: string, count: number): Promise<string[]> => {
    const seen: string[] = [];
    const consumer = kafka.consumer({
      groupId: `${prefix}-read-${topic}-${consumers.length}`,
      maxWaitTimeInMs: 100,
    });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void seen.push(String(message.value)),
    });
    await waitFor(() => seen.length >= count, {
      timeoutMs: 30_000,
      what: `${count} records on ${topic}`,
    });
    return seen;
  };

  it('a bus without spec.kafka.url is on the installation cluster; a URL naming that cluster differently shares its client', () => {
    assert.equal(clients.clientFor(eventBus('plain')), clients.installation);
    assert.equal(clients.clusterOf(eventBus('plain')), clusterKey(installationBrokers.split(',')));
    const respelled = ` ${installationBrokers.split(',').reverse().join(' , ')} `;
    assert.equal(clients.clientFor(eventBus('same', respelled)), clients.installation);
    assert.notEqual(clients.clientFor(eventBus('other', second.brokers)), clients.installation);
    assert.equal(
      clients.clientFor(eventBus('other-again', second.brokers)),
      clients.clientFor(eventBus('other', second.brokers)),
    );
  });

  it("sends a bus's records to the cluster its spec.kafka.url names, and only there", async () => {
    const onSecond = eventBus(`${prefix}-second`, second.brokers);
    const onInstallation = eventBus(`${prefix}-installation`);
    const topicA = `${prefix}-a`;
    const topicB = `${prefix}-b`;
    const secondAdmin = await adminOf(clients.clientFor(onSecond));
    const installationAdmin = await adminOf(clients.installation);
    await ensureTopics(secondAdmin, [{ topic: topicA, numPartitions: 1, replicationFactor: 1 }]);
    await ensureTopics(installationAdmin, [
      { topic: topicB, numPartitions: 1, replicationFactor: 1 },
    ]);

    const producers = clients.producers();
    // One producer per cluster, shared by every bus on it.
    assert.equal(producers.forBus(onSecond), producers.forBus(eventBus('other', second.brokers)));
    assert.notEqual(producers.forBus(onSecond), producers.forBus(onInstallation));
    await producers
      .forBus(onSecond)
      .send({ topic: topicA, key: 'k', value: 'to the second cluster' });
    await producers
      .forBus(onInstallation)
      .send({ topic: topicB, key: 'k', value: 'to the installation' });

    assert.deepEqual(await values(clients.clientFor(onSecond), topicA, 1), [
      'to the second cluster',
    ]);
    assert.deepEqual(await values(clients.installation, topicB, 1), ['to the installation']);
    const installationTopics = await installationAdmin.listTopics();
    const secondTopics = await secondAdmin.listTopics();
    assert.ok(
      !installationTopics.includes(topicA),
      "the second cluster's topic is not on the installation cluster",
    );
    assert.ok(
      !secondTopics.includes(topicB),
      "the installation's topic is not on the second cluster",
    );
  });

  it("watches every cluster's consumers: a batch held in processing on the second cluster is busy", async () => {
    const bus = eventBus(`${prefix}-watched`, second.brokers);
    const kafka = clients.clientFor(bus);
    const topic = `${prefix}-watched`;
    const group = `${prefix}-watched-group`;
    await ensureTopics(await adminOf(kafka), [{ topic, numPartitions: 1, replicationFactor: 1 }]);
    let release = false;
    const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: () =>
        waitFor(() => release, { timeoutMs: 60_000, what: 'release' }).then(() => undefined),
    });
    await clients.producers().forBus(bus).send({ topic, key: 'k', value: 'held' });
    await waitFor(() => activity.busy().some((b) => b.group === group && b.topic === topic), {
      timeoutMs: 30_000,
      what: 'the held batch to be busy',
    });
    release = true;
    await waitFor(() => !activity.busy().some((b) => b.group === group), {
      timeoutMs: 30_000,
      what: 'the batch to complete',
    });
  });

  it('close() flushes and closes every producer made through it', async () => {
    const producers = clients.producers();
    const producer = producers.forBus(eventBus('closing', second.brokers));
    await clients.close();
    await assert.rejects(
      producer.send({ topic: `${prefix}-a`, key: 'k', value: 'late' }),
      BusUnavailableError,
    );
  });
});
