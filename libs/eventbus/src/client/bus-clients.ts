import type { Kafka } from 'kafkajs';
import type { EventBus } from '@ganglion/api';
import type { Logger } from '@ganglion/telemetry';
import type { ConsumerActivity } from '../loops/consumer-activity.js';
import { BatchingProducer, type BatchingProducerOptions } from '../producer/batching-producer.js';
import { createKafka, parseBrokers } from './client.js';
import {
  busHasOwnSecurity,
  busSecurityIdentity,
  eventBusSecurity,
  type BusSecuritySource,
  type SecretLookup,
} from './security.js';

interface BusClientsOptions {
  /** The installation's brokers (`KAFKA_BROKERS`): the cluster of every bus without `spec.kafka.url`. */
  brokers: string[];
  /** Client id of every client (the same on every cluster: one process, one id). */
  clientId: string;
  logger: Logger;
  /** How long a connection attempt may take (ms). */
  connectionTimeoutMs?: number;
  /** Watches the consumers of every client this creates (liveness, batch-age metric). */
  activity?: ConsumerActivity;
  /** TLS and SASL of the installation's cluster (`KAFKA_TLS_*`, `KAFKA_SASL_*`). */
  security?: BusSecuritySource;
  /** Reads the Secrets an EventBus's `spec.kafka.tls` / `sasl` name (made on first use). */
  secrets?: () => SecretLookup;
}

/**
 * The key of a Kafka cluster: its broker list, trimmed, host names lower-cased, deduplicated
 * and sorted, so `b:9092,a:9092` and `a:9092, b:9092` name the same cluster.
 */
export function clusterKey(brokers: string[]): string {
  const normalised = brokers.map((b) => {
    const at = b.trim().lastIndexOf(':');
    return `${b.trim().slice(0, at).toLowerCase()}${b.trim().slice(at)}`;
  });
  return [...new Set(normalised)].sort().join(',');
}

/**
 * The Kafka clients of a process, one per cluster: an EventBus with `spec.kafka.url` (Argo's
 * `EventBus.spec.kafka.url`, a comma-separated broker list) has its topics, its events and its
 * consumer groups on that cluster; every other bus is on the installation's cluster. Clients are
 * created on first use and shared by everything in the process that works on that cluster; the
 * producer sets made by {@link producers} are closed with {@link close}.
 *
 * Security: a bus with its own `spec.kafka.tls` / `spec.kafka.sasl` (Argo fields) connects with
 * them, its Secrets read in its namespace here (never published); its key is then
 * `<brokers>|<fingerprint of namespace and Secret references>`, so buses with other credentials
 * never share a client. A bus without them on the installation's cluster uses the installation's
 * security; on another cluster, plaintext (as in Argo).
 */
export class BusClients {
  /** The installation cluster's key. */
  readonly installationCluster: string;
  private readonly clients = new Map<string, Kafka>();
  private readonly producerSets = new Set<BusProducers>();
  /** The security of each key with a bus's own settings (registered by {@link clusterOf}). */
  private readonly securities = new Map<string, BusSecuritySource>();

  constructor(private readonly options: BusClientsOptions) {
    this.installationCluster = clusterKey(options.brokers);
    this.client(this.installationCluster);
  }

  /** The installation cluster's client (the resources topic, ownership groups, buses without a URL). */
  get installation(): Kafka {
    return this.client(this.installationCluster);
  }

  /** The key of a bus's cluster. */
  clusterOf(bus: EventBus): string {
    const url = bus.spec.kafka?.url?.trim();
    const brokers = url ? clusterKey(parseBrokers(url)) : this.installationCluster;
    if (!busHasOwnSecurity(bus)) return brokers;
    const key = `${brokers}|${busSecurityIdentity(bus)}`;
    if (!this.securities.has(key)) {
      const secrets = this.options.secrets;
      this.securities.set(
        key,
        eventBusSecurity(bus, () => {
          if (!secrets) throw new Error('no Secret reader configured for EventBus credentials');
          return secrets();
        }),
      );
    }
    return key;
  }

  /** The client of a bus's cluster. */
  clientFor(bus: EventBus): Kafka {
    return this.client(this.clusterOf(bus));
  }

  /** The client of a cluster, by its key ({@link clusterOf}). */
  client(cluster: string): Kafka {
    let kafka = this.clients.get(cluster);
    if (!kafka) {
      const [brokers = '', identity] = cluster.split('|');
      const security =
        identity !== undefined
          ? this.securities.get(cluster)
          : cluster === this.installationCluster
            ? this.options.security
            : undefined;
      if (identity !== undefined && !security)
        throw new Error(`no EventBus named the credentials of cluster key ${cluster}`);
      const created = createKafka({
        brokers: brokers.split(','),
        ...(security ? { security } : {}),
        clientId: this.options.clientId,
        logger: this.options.logger,
        ...(this.options.connectionTimeoutMs !== undefined
          ? { connectionTimeoutMs: this.options.connectionTimeoutMs }
          : {}),
      });
      kafka = this.options.activity ? this.options.activity.watch(created) : created;
      this.clients.set(cluster, kafka);
    }
    return kafka;
  }

  /**
   * A set of batching producers with these options, one per cluster, shared by every bus on
   * that cluster (a service's events, outcomes or resources); closed by {@link close} if its
   * owner has not closed it before.
   */
  producers(options: Omit<BatchingProducerOptions, 'logger'> = {}): BusProducers {
    const set = new BusProducers(this, { ...options, logger: this.options.logger });
    this.producerSets.add(set);
    return set;
  }

  /** Flushes and disconnects every producer made through this (clients themselves hold no connection). */
  async close(): Promise<void> {
    await Promise.all([...this.producerSets].map((p) => p.close()));
    this.producerSets.clear();
  }
}

/** One batching producer per cluster, made on a bus's first record (see {@link BusClients.producers}). */
export class BusProducers {
  private readonly byCluster = new Map<string, BatchingProducer>();

  constructor(
    private readonly clients: BusClients,
    private readonly options: BatchingProducerOptions,
  ) {}

  /** The key of a bus's cluster ({@link BusClients.clusterOf}). */
  clusterOf(bus: EventBus): string {
    return this.clients.clusterOf(bus);
  }

  /** The client of a bus's cluster (for what this set does not produce: transactional state). */
  clientFor(bus: EventBus): Kafka {
    return this.clients.clientFor(bus);
  }

  /** The producer of a bus's cluster. */
  forBus(bus: EventBus): BatchingProducer {
    return this.forCluster(this.clients.clusterOf(bus));
  }

  /** The producer of a cluster, by its key. */
  forCluster(cluster: string): BatchingProducer {
    let producer = this.byCluster.get(cluster);
    if (!producer)
      this.byCluster.set(
        cluster,
        (producer = new BatchingProducer(this.clients.client(cluster), this.options)),
      );
    return producer;
  }

  async close(): Promise<void> {
    const producers = [...this.byCluster.values()];
    this.byCluster.clear();
    await Promise.all(producers.map((p) => p.close()));
  }
}
