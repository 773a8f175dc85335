import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';
import { ensureTopics } from '../client/topics.js';

interface GroupOwnershipOptions {
  /** Single-partition topic whose partition 0 stands for "the right to run". */
  topic: string;
  /** Consumer group of all replicas competing for it. */
  groupId: string;
  logger: Logger;
  /** How long a dead replica keeps ownership (ms, default 10 000; the broker's minimum is 6 000). */
  sessionTimeoutMs?: number;
  /** Replication of the ownership topic (default 0: min(3, brokers), see `ensureTopics`). */
  replicationFactor?: number;
  /** Called when this replica becomes the owner; ownership is not reported lost before it resolves. */
  onAcquire: () => Promise<void>;
  /** Called when this replica stops being the owner (rebalance, shutdown, crash of the client). */
  onRelease: () => Promise<void>;
}

/**
 * Exactly-one-replica assignment through Kafka consumer-group membership, with no Kubernetes
 * machinery: every replica joins one group on a one-partition topic; the member the group
 * assigns partition 0 is the owner. When the owner dies its session expires, the group
 * rebalances and another member gets the partition. A member releases as soon as a rebalance
 * starts, so an old owner stops before a new one is chosen (the group protocol waits for every
 * live member to rejoin). Callers that write to Kafka should still fence (transactional ids) in
 * case an owner is partitioned away without noticing.
 */
export class GroupOwnership {
  private consumer: Consumer | undefined;
  private owned = false;
  private chain: Promise<void> = Promise.resolve();
  private joinedOnce = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: GroupOwnershipOptions,
  ) {}

  /** Whether this replica currently owns the assignment. */
  get isOwner(): boolean {
    return this.owned;
  }

  /** Whether this replica has joined the group at least once (owner or standby). */
  get joined(): boolean {
    return this.joinedOnce;
  }

  private transition(own: boolean): void {
    this.chain = this.chain.then(async () => {
      if (own === this.owned) return;
      this.owned = own;
      this.options.logger.info(own ? 'acquired ownership' : 'released ownership', {
        group: this.options.groupId,
      });
      try {
        await (own ? this.options.onAcquire() : this.options.onRelease());
      } catch (err) {
        this.options.logger.error(own ? 'starting as owner failed' : 'stopping as owner failed', {
          error: err,
        });
      }
    });
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        {
          topic: this.options.topic,
          numPartitions: 1,
          replicationFactor: this.options.replicationFactor ?? 0,
        },
      ]);
    } finally {
      await admin.disconnect();
    }
    const sessionTimeout = this.options.sessionTimeoutMs ?? 10_000;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout,
      rebalanceTimeout: sessionTimeout,
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 10)),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => this.transition(false));
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.joinedOnce = true;
      this.transition((e.payload.memberAssignment[this.options.topic] ?? []).includes(0));
    });
    consumer.on(consumer.events.CRASH, () => this.transition(false));
    consumer.on(consumer.events.STOP, () => this.transition(false));
    await consumer.connect();
    await consumer.subscribe({ topics: [this.options.topic], fromBeginning: false });
    await consumer.run({ eachMessage: async () => undefined });
  }

  /** Leaves the group (handing over at once) after releasing. */
  async stop(): Promise<void> {
    this.transition(false);
    await this.chain;
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
