/**
 * Test support for the queue-like broker sources (sqs, pubSub, azureQueueStorage): replicas of a
 * `BrokerEventsRunner` in the test process over an in-memory store, publishing to a real broker;
 * a bus on a cluster that is down until the test starts it. Used by the *.test.ts files only.
 */
import assert from 'node:assert/strict';
import { API_VERSION, type EventBus } from '@ganglion/api';
import type { BusClients } from '@ganglion/eventbus';
import { LocalSecretResolver } from '@ganglion/k8s';
import type { Logger } from '@ganglion/telemetry';
import { KafkaBroker, waitFor } from '@ganglion/testing';
import { BrokerEventsRunner } from './broker-events.runner.js';
import type { BrokerSourceType, CommonBrokerConfig } from './broker-source.js';
import {
  BusFixture,
  secretEnv,
  type MemoryStore,
  type Received,
} from './push-harness.test-support.js';

/** One replica of a broker source type in the test process. */
export interface QueueReplica {
  stop(): Promise<void>;
}

/** Starts a runner of `type` over `store` publishing through `clients`, as replica `replicaId`. */
export async function startReplica<C extends CommonBrokerConfig>(
  type: BrokerSourceType<C>,
  store: MemoryStore,
  clients: BusClients,
  logger: Logger,
  replicaId: string,
  secrets: Record<string, Record<string, string>> = {},
  specKey = type.type,
): Promise<QueueReplica> {
  const producers = clients.producers();
  const runner = new BrokerEventsRunner<C>(
    {
      store,
      producers,
      logger: logger.child({ replica: replicaId }),
      stateTopic: 'unused',
      transactionalId: 'unused',
      secrets: new LocalSecretResolver(undefined, secretEnv(secrets)),
      replicaId,
    },
    type,
    specKey,
  );
  await runner.start();
  return {
    stop: async () => {
      await runner.stop();
      await producers.close();
    },
  };
}

/** An EventBus named `name` whose cluster is `brokers` (`spec.kafka.url`), topic `topic`. */
export function busOn(name: string, brokers: string, topic: string): EventBus {
  return {
    apiVersion: API_VERSION,
    kind: 'EventBus',
    metadata: { name, namespace: 'default' },
    spec: { kafka: { url: brokers, topic } },
  };
}

/**
 * The end of a "bus down" test: starts the bus's broker on `port`, then checks that the `n`
 * messages the queue held meanwhile all reach `topic`, each once (by `idOf`), and that the queue is
 * then empty (`stored`). `cleanup` (stop the replica, close its clients) runs before the broker
 * goes.
 */
export async function expectAllOnceTheBusIsBack(options: {
  port: number;
  topic: string;
  n: number;
  idOf: (received: Received) => string;
  stored: () => Promise<number>;
  cleanup: () => Promise<void>;
}): Promise<void> {
  const { n } = options;
  const kafka = await KafkaBroker.start({ port: options.port, heap: '384m' });
  try {
    const bus = await new BusFixture(kafka.brokers, options.topic).start();
    try {
      await waitFor(() => bus.received.length >= n, {
        timeoutMs: 120_000,
        what: 'every message on the bus once it is up',
      });
      assert.equal(new Set(bus.received.map(options.idOf)).size, n);
      await waitFor(async () => (await options.stored()) === 0, {
        timeoutMs: 30_000,
        what: 'queue empty',
      });
    } finally {
      await bus.stop();
    }
  } finally {
    await options.cleanup();
    await kafka.destroy();
  }
}
