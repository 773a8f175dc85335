import type { Admin, ITopicConfig } from 'kafkajs';
import type { EventBus } from '@ganglion/api';

/**
 * Topic names of one EventBus (docs/architecture.md §3). `P` is Argo's event topic,
 * `spec.kafka.topic` or `<namespace>-<eventbus name>`.
 */
export interface BusTopics {
  events: string;
  joins: string;
  joinState: string;
  actions: string;
  outcomes: string;
  dlq: string;
  /** Compacted log of the attempts of actions being retried (docs/eventbus.md, durable retries). */
  attempts: string;
}

export function busTopics(eventTopic: string): BusTopics {
  return Object.freeze({
    events: eventTopic,
    joins: `${eventTopic}-joins`,
    joinState: `${eventTopic}-join-state`,
    actions: `${eventTopic}-actions`,
    outcomes: `${eventTopic}-outcomes`,
    dlq: `${eventTopic}-dlq`,
    attempts: `${eventTopic}-attempts`,
  });
}

/** The per-installation compacted topic carrying normalized resources. */
export const DEFAULT_RESOURCES_TOPIC = 'ganglion-resources';

/**
 * How bus topics are created (docs/eventbus.md, "Topic configuration"): durable by default.
 * Set per installation (`GANGLION_TOPIC_*`, chart `topics.*`) and per EventBus (annotations
 * {@link TOPIC_ANNOTATIONS}; Argo's `spec.kafka` has no such fields).
 */
export interface TopicPolicy {
  /** Replicas of each partition; 0: min(3, brokers in the cluster). */
  replicationFactor: number;
  /** `min.insync.replicas`; 0: min(2, replicationFactor − 1), at least 1. */
  minInsyncReplicas: number;
  /**
   * `max.message.bytes` of the bus topics: 8 MiB by default, well above the largest event the
   * ingress accepts (its record limit, 4 MiB by default, covers `maxPayloadSize`'s default 1 MiB
   * even base64-encoded), so an event accepted at ingress always fits, and so does an action
   * carrying a few of them.
   */
  maxMessageBytes: number;
  /** `retention.ms` of the events, joins, actions and outcomes topics (7 days, Kafka's default). */
  retentionMs: number;
  /** `retention.ms` of the dead-letter topic (30 days: time to look and replay). */
  dlqRetentionMs: number;
}

const DAY_MS = 24 * 3600 * 1000;

export const DEFAULT_TOPIC_POLICY: Readonly<TopicPolicy> = Object.freeze({
  replicationFactor: 0,
  minInsyncReplicas: 0,
  maxMessageBytes: 8 * 1024 * 1024,
  retentionMs: 7 * DAY_MS,
  dlqRetentionMs: 30 * DAY_MS,
});

/** Per-EventBus overrides of the installation's {@link TopicPolicy} (Ganglion-specific annotations). */
export const TOPIC_ANNOTATIONS = Object.freeze({
  replicationFactor: 'ganglion.io/replication-factor',
  minInsyncReplicas: 'ganglion.io/min-insync-replicas',
  retentionHours: 'ganglion.io/retention-hours',
  dlqRetentionHours: 'ganglion.io/dlq-retention-hours',
});

/** The policy of a bus's topics: the installation's, with the bus's annotations applied. */
export function busTopicPolicy(bus: EventBus, installation: TopicPolicy): TopicPolicy {
  const annotations = bus.metadata.annotations ?? {};
  const read = (name: string, max: number): number | undefined => {
    const v = annotations[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new Error(
        `metadata.annotations["${name}"] must be an integer from 1 to ${max}, got "${v}"`,
      );
    return n;
  };
  const rf = read(TOPIC_ANNOTATIONS.replicationFactor, 32);
  const isr = read(TOPIC_ANNOTATIONS.minInsyncReplicas, 32);
  const retention = read(TOPIC_ANNOTATIONS.retentionHours, 24 * 365 * 100);
  const dlq = read(TOPIC_ANNOTATIONS.dlqRetentionHours, 24 * 365 * 100);
  return {
    ...installation,
    ...(rf !== undefined ? { replicationFactor: rf } : {}),
    ...(isr !== undefined ? { minInsyncReplicas: isr } : {}),
    ...(retention !== undefined ? { retentionMs: retention * 3600_000 } : {}),
    ...(dlq !== undefined ? { dlqRetentionMs: dlq * 3600_000 } : {}),
  };
}

interface TopicLayout extends Partial<TopicPolicy> {
  partitions: number;
}

const MIN_ISR = 'min.insync.replicas';

/** The default `min.insync.replicas` of a replication factor: min(2, rf − 1), at least 1. */
function minInsyncFor(replicationFactor: number): number {
  return Math.max(1, Math.min(2, replicationFactor - 1));
}

/**
 * Topic configurations of a bus: the events, joins, actions and outcomes topics keep records
 * for `retentionMs`, the DLQ for `dlqRetentionMs`, the join-state changelog is compacted; every
 * one has `max.message.bytes` and `min.insync.replicas` from the policy. A replication factor of
 * 0 (auto) is resolved by {@link ensureTopics} from the cluster's size.
 */
export function busTopicConfigs(topics: BusTopics, layout: TopicLayout): ITopicConfig[] {
  const policy = { ...DEFAULT_TOPIC_POLICY, ...layout };
  const rf = policy.replicationFactor;
  const isr = policy.minInsyncReplicas || (rf > 0 ? minInsyncFor(rf) : 0);
  const topic = (name: string, entries: Record<string, string>): ITopicConfig => ({
    topic: name,
    numPartitions: layout.partitions,
    replicationFactor: rf,
    configEntries: Object.entries({
      'max.message.bytes': String(policy.maxMessageBytes),
      ...(isr > 0 ? { [MIN_ISR]: String(isr) } : {}),
      ...entries,
    }).map(([name, value]) => ({ name, value })),
  });
  const retained = { 'cleanup.policy': 'delete', 'retention.ms': String(policy.retentionMs) };
  return [
    topic(topics.events, retained),
    topic(topics.joins, retained),
    topic(topics.joinState, { 'cleanup.policy': 'compact' }),
    topic(topics.actions, retained),
    topic(topics.outcomes, retained),
    topic(topics.dlq, {
      'cleanup.policy': 'delete',
      'retention.ms': String(policy.dlqRetentionMs),
    }),
    attemptsTopicConfig(topics.attempts, layout),
  ];
}

/**
 * The attempt log: latest entry per action id, kept a week after its last write (an action's
 * final entry stops a re-delivery from running it again; it is not needed once the action's
 * offset is committed, which is long before). Replication, `min.insync.replicas` and
 * `max.message.bytes` as the bus's other topics.
 */
export function attemptsTopicConfig(topic: string, layout: TopicLayout): ITopicConfig {
  const policy = { ...DEFAULT_TOPIC_POLICY, ...layout };
  const rf = policy.replicationFactor;
  const isr = policy.minInsyncReplicas || (rf > 0 ? minInsyncFor(rf) : 0);
  return {
    topic,
    numPartitions: layout.partitions,
    replicationFactor: rf,
    configEntries: [
      { name: 'cleanup.policy', value: 'compact,delete' },
      { name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) },
      { name: 'max.message.bytes', value: String(policy.maxMessageBytes) },
      ...(isr > 0 ? [{ name: MIN_ISR, value: String(isr) }] : []),
    ],
  };
}

/**
 * The per-installation resources topic: compacted (the current state of every resource), one
 * partition; replication as the policy says (0: auto, see {@link ensureTopics}).
 */
export function resourcesTopicConfig(
  topic: string,
  replicationFactor: number,
  minInsyncReplicas = 0,
): ITopicConfig {
  const isr = minInsyncReplicas || (replicationFactor > 0 ? minInsyncFor(replicationFactor) : 0);
  return {
    topic,
    numPartitions: 1,
    replicationFactor,
    configEntries: [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'min.compaction.lag.ms', value: '0' },
      ...(isr > 0 ? [{ name: MIN_ISR, value: String(isr) }] : []),
    ],
  };
}

/** Creates the topics that do not exist yet; returns the names it created. */
export async function ensureTopics(admin: Admin, configs: ITopicConfig[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  let missing = configs.filter((c) => !existing.has(c.topic));
  if (missing.length === 0) return [];
  // Replication factor 0 (auto): min(3, brokers), and min.insync.replicas to match unless set.
  if (missing.some((c) => !c.replicationFactor)) {
    const brokers = (await admin.describeCluster()).brokers.length;
    const rf = Math.max(1, Math.min(3, brokers));
    missing = missing.map((c) => {
      if (c.replicationFactor) return c;
      const entries = c.configEntries ?? [];
      return {
        ...c,
        replicationFactor: rf,
        configEntries: entries.some((e) => e.name === MIN_ISR)
          ? entries
          : [...entries, { name: MIN_ISR, value: String(minInsyncFor(rf)) }],
      };
    });
  }
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another replica may have created them concurrently.
    if (!/already exists/i.test(String((err as Error).message))) throw err;
  }
  return missing.map((c) => c.topic);
}
