import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import avro from 'avsc';
import { createKafka, ensureTopics, type Kafka } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { kafkaBrokers, uniquePrefix } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

const logger = createLogger('e2e', { level: 'error' });

const ORDER = {
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'seq', type: 'int' },
    { name: 'note', type: ['null', 'string'] },
  ],
};
const SCHEMA_ID = 21;

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * The kafka source's `schemaRegistry` through the ingress process, on both paths (the topic on
 * the bus's own cluster: exactly-once; the same broker under another host name: at-least-once),
 * against an HTTP server of the test's own that answers the registry protocol's
 * `GET /schemas/ids/<id>` (no registry server can be had here: see the kafka docs page). Avro
 * records arrive as Argo's Avro JSON body; a record not in the wire format is bridged as it is.
 */
describe('ingress-kafka: schemaRegistry (Avro) on both paths', { timeout: 600_000 }, () => {
  const prefix = uniquePrefix('kafka-avro');
  const localTopic = `${prefix}-local-in`;
  const otherTopic = `${prefix}-other-in`;
  const type = avro.Type.forSchema(ORDER as avro.Schema, { wrapUnions: true });
  let registry: Server;
  let registryRequests = 0;
  let kafka: Kafka;
  let ingress: BrokerIngress;

  function wire(value: unknown): Buffer {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(SCHEMA_ID, 1);
    return Buffer.concat([head, type.toBuffer(value)]);
  }

  async function publish(topic: string, values: Buffer[]): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: values.map((value) => ({ value })), acks: -1 });
    await producer.disconnect();
  }

  before(async () => {
    registry = createServer((req, res) => {
      registryRequests++;
      if (req.url === `/schemas/ids/${SCHEMA_ID}`) {
        res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
        res.end(JSON.stringify({ schema: JSON.stringify(ORDER) }));
      } else {
        res.statusCode = 404;
        res.end('{"error_code":40403,"message":"Schema not found"}');
      }
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    const registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;
    const brokers = await kafkaBrokers();
    kafka = createKafka({ brokers: brokers.split(','), clientId: prefix, logger });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      { topic: localTopic, numPartitions: 2, replicationFactor: 1 },
      { topic: otherTopic, numPartitions: 2, replicationFactor: 1 },
    ]);
    await admin.disconnect();
    const first = brokers.split(',')[0]!;
    const host = first.slice(0, first.lastIndexOf(':'));
    const other = `${host === 'localhost' ? '127.0.0.1' : 'localhost'}:${first.slice(first.lastIndexOf(':') + 1)}`;
    const event = (url: string, topic: string, group: string) => ({
      url,
      topic,
      jsonBody: true,
      consumerGroup: { groupName: `${prefix}-${group}`, oldest: true },
      schemaRegistry: { url: registryUrl },
    });
    ingress = await new BrokerIngress({
      service: 'ingress-kafka',
      prefix,
      brokers,
      seqOf,
      eventSource: {
        name: 'kafka',
        spec: {
          kafka: {
            local: event(brokers, localTopic, 'local'),
            other: event(other, otherTopic, 'other'),
          },
        },
      },
    }).start();
    await ingress.replica();
  });

  after(async () => {
    await ingress?.stop();
    registry?.close();
  });

  for (const [path, topic, base] of [
    ['exactly-once', localTopic, 0],
    ['at-least-once', otherTopic, 1000],
  ] as const)
    it(`${path}: Avro records arrive as Argo's Avro JSON; a plain record is bridged as it is`, async () => {
      const values = [];
      for (let i = 0; i < 50; i++)
        values.push(wire({ seq: base + i, note: i % 2 ? { string: `n${i}` } : null }));
      await publish(topic, [...values, Buffer.from(JSON.stringify({ seq: base + 50 }))]);
      await ingress.waitForAll(base, base + 51, 180_000);
      const e = ingress.events.find((x) => seqOf(x.data) === base + 1)!;
      assert.deepEqual(e.data['body'], { seq: base + 1, note: { string: 'n1' } });
      assert.deepEqual(ingress.events.find((x) => seqOf(x.data) === base)!.data['body'], {
        seq: base,
        note: null,
      });
      assert.equal(ingress.duplicates(base, base + 51), 0, 'a record reached the bus twice');
      assert.ok(
        ingress.replicas[0]!.records().some(
          (l) => l['msg'] === 'message bridged without Avro decoding',
        ),
        'the plain record was bridged with a warning',
      );
      // The schema is fetched once per id and session (the registry is not asked per record).
      assert.ok(registryRequests < 10, `${registryRequests} schema requests for 100 Avro records`);
    });
});
