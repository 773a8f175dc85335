/**
 * Test support for the queue-like broker sources (sqs, pubSub, azureQueueStorage): replicas of a
 * `BrokerEventsRunner` in the test process over an in-memory store, publishing to a real broker;
 * a bus on a cluster that is down until the test starts it. Used by the *.test.ts files only.
 */
import { API_VERSION, type EventBus } from '@ganglion/api';
import type { BusClients } from '@ganglion/eventbus';
import { LocalSecretResolver } from '@ganglion/k8s';
import type { Logger } from '@ganglion/telemetry';
import { BrokerEventsRunner } from './broker-events.runner.js';
import type { BrokerSourceType, CommonBrokerConfig } from './broker-source.js';
import { secretEnv, type MemoryStore } from './push-harness.test-support.js';

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
