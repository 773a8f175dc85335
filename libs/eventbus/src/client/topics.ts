import type { Admin, ITopicConfig } from 'kafkajs';

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

interface TopicLayout {
  partitions: number;
  replicationFactor: number;
}

/** Topic configurations of a bus: compaction where the topic is a changelog. */
export function busTopicConfigs(topics: BusTopics, layout: TopicLayout): ITopicConfig[] {
  const plain = (topic: string): ITopicConfig => ({
    topic,
    numPartitions: layout.partitions,
    replicationFactor: layout.replicationFactor,
  });
  return [
    plain(topics.events),
    plain(topics.joins),
    { ...plain(topics.joinState), configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    plain(topics.actions),
    plain(topics.outcomes),
    plain(topics.dlq),
    attemptsTopicConfig(topics.attempts, layout),
  ];
}

/**
 * The attempt log: latest entry per action id, kept a week after its last write (an action's
 * final entry stops a re-delivery from running it again; it is not needed once the action's
 * offset is committed, which is long before).
 */
export function attemptsTopicConfig(topic: string, layout: TopicLayout): ITopicConfig {
  return {
    topic,
    numPartitions: layout.partitions,
    replicationFactor: layout.replicationFactor,
    configEntries: [
      { name: 'cleanup.policy', value: 'compact,delete' },
      { name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) },
    ],
  };
}

export function resourcesTopicConfig(topic: string, replicationFactor: number): ITopicConfig {
  return {
    topic,
    numPartitions: 1,
    replicationFactor,
    configEntries: [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'min.compaction.lag.ms', value: '0' },
    ],
  };
}

/** Creates the topics that do not exist yet; returns the names it created. */
export async function ensureTopics(admin: Admin, configs: ITopicConfig[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = configs.filter((c) => !existing.has(c.topic));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another replica may have created them concurrently.
    if (!/already exists/i.test(String((err as Error).message))) throw err;
  }
  return missing.map((c) => c.topic);
}
