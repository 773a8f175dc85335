/**
 * Benchmark (not a test): messages/s one replica of each queue-like cloud source bridges from
 * its peer into the bus (received, published with acks=all, then deleted / acknowledged at the
 * source), beside the peer's own client draining the same backlog the same way without the bus
 * (receive, then delete or ack): the ceiling a bridge can reach on this machine.
 *
 * Each run preloads N messages, then measures the time until all N are on the bus (bridge) or
 * all N are deleted (client). Peers: ElasticMQ (sqs), pstest (pubSub), Azurite
 * (azureQueueStorage), all on loopback.
 *
 * Run: `npm run bench -- cloud-sources [out.json]` (default bench/results/cloud-sources.json).
 * Env: BENCH_MESSAGES (default 2000), BENCH_ONLY (sqs|pubSub|azureQueueStorage), KAFKA_BROKERS
 * (else a local broker is started).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { PubSub, type Message } from '@google-cloud/pubsub';
import {
  AzuriteQueue,
  ElasticMq,
  KafkaBroker,
  PubSubTestServer,
  uniquePrefix,
  waitFor,
} from '@ganglion/testing';
import { azureQueueStorageSource } from '../azurequeuestorage/azure-queue-storage.source.js';
import type { BrokerSourceType, CommonBrokerConfig } from '../kit/broker-source.js';
import { BusFixture, eventSource, MemoryStore } from '../kit/push-harness.test-support.js';
import { startReplica } from '../kit/queue-harness.test-support.js';
import { pubSubSource } from '../pubsub/pubsub.source.js';
import { sqsSource } from '../sqs/sqs.source.js';

const N = Number(process.env['BENCH_MESSAGES'] ?? 2000);
const ONLY = process.env['BENCH_ONLY'];
const BODY = (i: number): string => JSON.stringify({ seq: i, pad: 'x'.repeat(200) });

interface Peer {
  type: string;
  source: BrokerSourceType<CommonBrokerConfig>;
  specKey: string;
  config(queue: string): Record<string, unknown>;
  secrets: Record<string, Record<string, string>>;
  /** Creates a fresh queue (and what reads it), returns its name. */
  queue(name: string): Promise<string>;
  fill(queue: string, n: number): Promise<void>;
  /** Drains n messages with the peer's own client (receive, then delete/ack), resolves when done. */
  drain(queue: string, n: number): Promise<void>;
  stop(): Promise<void>;
}

async function sqsPeer(): Promise<Peer> {
  const mq = await ElasticMq.start();
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: mq.endpoint,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
  });
  const urls = new Map<string, string>();
  return {
    type: 'sqs',
    source: sqsSource as BrokerSourceType<CommonBrokerConfig>,
    specKey: 'sqs',
    config: (queue) => ({
      queue,
      region: 'us-east-1',
      endpoint: mq.endpoint,
      waitTimeSeconds: 1,
      jsonBody: true,
      accessKey: { name: 'aws', key: 'k' },
      secretKey: { name: 'aws', key: 's' },
    }),
    secrets: { aws: { k: 'k', s: 's' } },
    async queue(name) {
      urls.set(name, (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!);
      return name;
    },
    async fill(queue, n) {
      const url = urls.get(queue)!;
      for (let i = 0; i < n; i += 100)
        await Promise.all(
          Array.from({ length: Math.min(10, Math.ceil((n - i) / 10)) }, (_, b) =>
            sqs.send(
              new SendMessageBatchCommand({
                QueueUrl: url,
                Entries: Array.from({ length: Math.min(10, n - i - b * 10) }, (_, j) => ({
                  Id: String(j),
                  MessageBody: BODY(i + b * 10 + j),
                })),
              }),
            ),
          ),
        );
    },
    async drain(queue, n) {
      const url = urls.get(queue)!;
      let done = 0;
      while (done < n) {
        const res = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        const ms = res.Messages ?? [];
        if (!ms.length) continue;
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: ms.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
        done += ms.length;
      }
    },
    async stop() {
      sqs.destroy();
      await mq.stop();
    },
  };
}

async function pubSubPeer(): Promise<Peer> {
  const server = await PubSubTestServer.start();
  process.env['PUBSUB_EMULATOR_HOST'] = server.host;
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const client = new PubSub({ projectId: 'bench' });
  return {
    type: 'pubSub',
    source: pubSubSource as BrokerSourceType<CommonBrokerConfig>,
    specKey: 'pubSub',
    config: (queue) => ({ projectID: 'bench', subscriptionID: queue, jsonBody: true }),
    secrets: {},
    async queue(name) {
      const [topic] = await client.createTopic(name);
      await topic.createSubscription(name);
      return name;
    },
    async fill(queue, n) {
      const t = client.topic(queue, { batching: { maxMessages: 100, maxMilliseconds: 5 } });
      await Promise.all(
        Array.from({ length: n }, (_, i) => t.publishMessage({ data: Buffer.from(BODY(i)) })),
      );
    },
    async drain(queue, n) {
      const sub = client.subscription(queue, { flowControl: { maxMessages: 1000 } });
      let done = 0;
      await new Promise<void>((resolveDone) =>
        sub.on('message', (m: Message) => {
          m.ack();
          if (++done === n) resolveDone();
        }),
      );
      await sub.close();
    },
    async stop() {
      await client.close();
      await server.stop();
    },
  };
}

async function azurePeer(): Promise<Peer> {
  const azurite = await AzuriteQueue.start();
  const service = QueueServiceClient.fromConnectionString(azurite.connectionString);
  const queues = new Map<string, QueueClient>();
  return {
    type: 'azureQueueStorage',
    source: azureQueueStorageSource as BrokerSourceType<CommonBrokerConfig>,
    specKey: 'azureQueueStorage',
    config: (queueName) => ({
      queueName,
      connectionString: { name: 'azure', key: 'conn' },
      waitTimeInSeconds: 1,
      jsonBody: true,
    }),
    secrets: { azure: { conn: azurite.connectionString } },
    async queue(name) {
      const q = service.getQueueClient(name);
      await q.create();
      queues.set(name, q);
      return name;
    },
    async fill(queue, n) {
      const q = queues.get(queue)!;
      for (let i = 0; i < n; i += 50)
        await Promise.all(
          Array.from({ length: Math.min(50, n - i) }, (_, j) => q.sendMessage(BODY(i + j))),
        );
    },
    async drain(queue, n) {
      const q = queues.get(queue)!;
      let done = 0;
      while (done < n) {
        const items = (await q.receiveMessages({ numberOfMessages: 32 })).receivedMessageItems;
        await Promise.all(items.map((m) => q.deleteMessage(m.messageId, m.popReceipt)));
        done += items.length;
      }
    },
    async stop() {
      await azurite.stop();
    },
  };
}

async function main(): Promise<void> {
  const own = process.env['KAFKA_BROKERS'] ? undefined : await KafkaBroker.start();
  const brokers = process.env['KAFKA_BROKERS'] ?? own!.brokers;
  const results: Record<string, unknown>[] = [];
  const makers: [string, () => Promise<Peer>][] = [
    ['sqs', sqsPeer],
    ['pubSub', pubSubPeer],
    ['azureQueueStorage', azurePeer],
  ];
  try {
    for (const [name, make] of makers) {
      if (ONLY && ONLY !== name) continue;
      const peer = await make();
      const prefix = uniquePrefix('bench')
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-');
      try {
        // The peer's own client: receive and delete/ack, no bus.
        const direct = await peer.queue(`${prefix}-direct`);
        await peer.fill(direct, N);
        let t = performance.now();
        await peer.drain(direct, N);
        const clientRate = N / ((performance.now() - t) / 1000);

        // One replica of the source: receive, publish (acks=all), delete/ack.
        const bridged = await peer.queue(`${prefix}-bridged`);
        await peer.fill(bridged, N);
        const bus = await new BusFixture(brokers, `${prefix}-bus`).start();
        const store = new MemoryStore();
        store.put(bus.bus());
        t = performance.now();
        store.put(eventSource('bench', { [peer.specKey]: { e: peer.config(bridged) } }));
        const replica = await startReplica(
          peer.source,
          store,
          bus.clients,
          bus.logger,
          'bench',
          peer.secrets,
          peer.specKey,
        );
        await waitFor(() => bus.received.length >= N, {
          timeoutMs: 600_000,
          intervalMs: 20,
          what: `${N} ${name} messages on the bus`,
        });
        const bridgeRate = N / ((performance.now() - t) / 1000);
        await replica.stop();
        await bus.stop();
        const r = {
          type: name,
          messages: N,
          peerClientPerSecond: Math.round(clientRate),
          bridgedPerSecondOneReplica: Math.round(bridgeRate),
          ratio: Math.round((bridgeRate / clientRate) * 100) / 100,
        };
        console.log(
          `${name}: peer's own client ${r.peerClientPerSecond} msg/s (receive + delete/ack), ` +
            `one replica bridged ${r.bridgedPerSecondOneReplica} msg/s (receive, publish acks=all, delete/ack): ${r.ratio}x`,
        );
        results.push(r);
      } finally {
        await peer.stop();
      }
    }
  } finally {
    await own?.destroy();
  }
  const out = resolve(process.argv[2] ?? 'bench/results/cloud-sources.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify({ at: new Date().toISOString(), loadavg: loadavg(), results }, null, 2) + '\n',
  );
  console.log(`wrote ${out}`);
}

await main();
process.exit(0);
