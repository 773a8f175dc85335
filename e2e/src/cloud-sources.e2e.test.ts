import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueServiceClient } from '@azure/storage-queue';
import { PubSub } from '@google-cloud/pubsub';
import type { EventSource } from '@ganglion/api';
import { decodeCloudEvent, eventData } from '@ganglion/eventbus';
import {
  AzuriteQueue,
  ElasticMq,
  PubSubTestServer,
  freePort,
  kafkaBrokers,
  ServiceProcess,
  uniquePrefix,
  waitFor,
  type ServiceName,
} from '@ganglion/testing';
import { ingressTopics, type BusCollector } from './harness.js';

/** A queue-like cloud source under test: its peer, how to fill its queue, how to count what is left. */
interface QueuePeer {
  /** The EventSource spec reading the queue (`jsonBody`: bodies are `{seq}`). */
  spec: EventSource['spec'];
  /** Service environment (the credentials as local Secrets). */
  env: Record<string, string>;
  /** Sends messages `{seq}` for seq in [from, to). */
  send(from: number, to: number): Promise<void>;
  /** Messages still stored at the source (visible or in flight), where the peer can tell. */
  stored?(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/**
 * A cloud source's ingress service as processes against its real peer: two replicas share the
 * queue (each message once on the bus, under one id); then one replica is killed with SIGKILL
 * under load and nothing is lost (what it held comes back to the other replica, same ids).
 */
function queueSourceScenario(
  service: ServiceName,
  startPeer: (prefix: string) => Promise<QueuePeer>,
): void {
  describe(`${service}: two replicas, then SIGKILL under load`, { timeout: 900_000 }, () => {
    const prefix = uniquePrefix(service.replace('ingress-', ''));
    const bySeq = new Map<number, Set<string>>();
    let events = 0;
    const replicas: ServiceProcess[] = [];
    let peer: QueuePeer;
    let collector: BusCollector;
    let brokers: string;

    const missing = (from: number, to: number): number[] => {
      const out: number[] = [];
      for (let i = from; i < to && out.length < 10; i++) if (!bySeq.has(i)) out.push(i);
      return out;
    };

    async function replica(): Promise<ServiceProcess> {
      const name = `${prefix}-${replicas.length}`;
      const proc = new ServiceProcess(service, {
        healthPort: await freePort(),
        env: {
          KAFKA_BROKERS: brokers,
          GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
          GANGLION_INSTANCE_ID: name,
          LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'warn',
          ...peer.env,
        },
        ...(process.env['E2E_VERBOSE']
          ? { onLine: (l: string) => console.log(`[${name}] ${l}`) }
          : {}),
      });
      replicas.push(proc.start());
      await proc.ready(120_000);
      return proc;
    }

    before(async () => {
      brokers = await kafkaBrokers();
      peer = await startPeer(prefix);
      collector = await ingressTopics({
        brokers,
        prefix,
        resourcesTopic: `${prefix}-resources`,
        busTopic: `${prefix}-bus`,
        busPartitions: 1,
        eventSource: { name: 'cloud', spec: peer.spec },
        onEvent: (message) => {
          const event = decodeCloudEvent(message);
          const seq = (eventData(event) as { body?: { seq?: number } }).body?.seq;
          events++;
          if (typeof seq !== 'number') return;
          let ids = bySeq.get(seq);
          if (!ids) bySeq.set(seq, (ids = new Set()));
          ids.add(event.id);
        },
      });
    });

    after(async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      await collector?.disconnect();
      await peer?.stop();
    });

    it('two replicas: every message on the bus once', async () => {
      await Promise.all([replica(), replica()]);
      const n = 400;
      await peer.send(0, n);
      await waitFor(() => missing(0, n).length === 0, {
        timeoutMs: 180_000,
        what: `messages 0..${n - 1} on the bus`,
      }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message} (missing e.g. ${missing(0, n).join(', ')})`);
      });
      await waitFor(async () => !peer.stored || (await peer.stored()) === 0, {
        timeoutMs: 60_000,
        what: 'the source emptied',
      });
      assert.equal(events, n, 'no message twice');
      for (let i = 0; i < n; i++) assert.equal(bySeq.get(i)!.size, 1);
    });

    it('SIGKILL of a replica under load loses nothing; a message on the bus twice has one id', async () => {
      const from = 400;
      const to = 2400;
      const before = events;
      const sending = peer.send(from, to);
      await waitFor(() => events - before >= 500, { timeoutMs: 120_000, what: '500 events' });
      await replicas[0]!.stop('SIGKILL');
      await sending;
      await waitFor(() => missing(from, to).length === 0, {
        timeoutMs: 240_000,
        what: `messages ${from}..${to - 1} on the bus`,
      }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message} (missing e.g. ${missing(from, to).join(', ')})`);
      });
      for (let i = from; i < to; i++) assert.equal(bySeq.get(i)!.size, 1, `message ${i}: one id`);
      await waitFor(async () => !peer.stored || (await peer.stored()) === 0, {
        timeoutMs: 60_000,
        what: 'the source emptied',
      });
      console.log(
        `${service} SIGKILL under load: ${to - from} messages, lost 0, ` +
          `published twice (same id) ${events - before - (to - from)}`,
      );
    });
  });
}

queueSourceScenario('ingress-sqs', async (prefix) => {
  const mq = await ElasticMq.start();
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: mq.endpoint,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
  });
  const name = `${prefix}-q`;
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  return {
    spec: {
      sqs: {
        q: {
          queue: name,
          region: 'us-east-1',
          endpoint: mq.endpoint,
          waitTimeSeconds: 2,
          jsonBody: true,
          accessKey: { name: 'aws', key: 'accesskey' },
          secretKey: { name: 'aws', key: 'secretkey' },
        },
      },
    } as EventSource['spec'],
    env: { GANGLION_SECRET_AWS_ACCESSKEY: 'k', GANGLION_SECRET_AWS_SECRETKEY: 's' },
    async send(from, to) {
      for (let i = from; i < to; i += 10) {
        const entries = [];
        for (let j = i; j < Math.min(to, i + 10); j++)
          entries.push({ Id: String(j), MessageBody: JSON.stringify({ seq: j }) });
        await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
      }
    },
    async stored() {
      const a =
        (
          await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
              ],
            }),
          )
        ).Attributes ?? {};
      return (
        Number(a['ApproximateNumberOfMessages']) +
        Number(a['ApproximateNumberOfMessagesNotVisible'])
      );
    },
    async stop() {
      sqs.destroy();
      await mq.stop();
    },
  };
});

queueSourceScenario('ingress-pubsub', async (prefix) => {
  const server = await PubSubTestServer.start();
  // This process's client must not look for a GCP metadata server (off the loopback).
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const client = new PubSub({ projectId: 'e2e', apiEndpoint: server.host, emulatorMode: true });
  const [topic] = await client.createTopic(`${prefix}-t`);
  await topic.createSubscription(`${prefix}-s`);
  return {
    spec: {
      pubSub: { s: { projectID: 'e2e', subscriptionID: `${prefix}-s`, jsonBody: true } },
    } as EventSource['spec'],
    env: { PUBSUB_EMULATOR_HOST: server.host, METADATA_SERVER_DETECTION: 'none' },
    async send(from, to) {
      const t = client.topic(`${prefix}-t`, { batching: { maxMessages: 100, maxMilliseconds: 5 } });
      await Promise.all(
        Array.from({ length: to - from }, (_, i) => t.publishMessage({ json: { seq: from + i } })),
      );
    },
    async stop() {
      await client.close();
      await server.stop();
    },
  };
});

queueSourceScenario('ingress-azurequeuestorage', async (prefix) => {
  const azurite = await AzuriteQueue.start();
  const name = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(
    name,
  );
  await queue.create();
  return {
    spec: {
      azureQueueStorage: {
        q: {
          queueName: name,
          connectionString: { name: 'azure', key: 'conn' },
          waitTimeInSeconds: 1,
          jsonBody: true,
        },
      },
    } as EventSource['spec'],
    env: { GANGLION_SECRET_AZURE_CONN: azurite.connectionString },
    async send(from, to) {
      for (let i = from; i < to; i += 50)
        await Promise.all(
          Array.from({ length: Math.min(50, to - i) }, (_, j) =>
            queue.sendMessage(JSON.stringify({ seq: i + j })),
          ),
        );
    },
    stored: async () => (await queue.getProperties()).approximateMessagesCount,
    async stop() {
      await azurite.stop();
    },
  };
});
