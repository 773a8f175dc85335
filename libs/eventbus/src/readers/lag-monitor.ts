import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';

/** One partition of a consumer group, as last observed. */
export interface LagSample {
  group: string;
  topic: string;
  partition: number;
  /** End offset minus committed offset (records not yet committed). */
  lag: number;
  /** Whether a member with this process's client id owns the partition. */
  assignedHere: boolean;
}

interface LagMonitorOptions {
  kafka: Kafka;
  /** Groups whose id starts with this are watched (e.g. `ganglion-sensor`). */
  groupPrefix: string;
  /** This process's Kafka client id, to tell which partitions are assigned here. */
  clientId: string;
  logger: Logger;
  /** Poll interval (ms, default 5000). */
  intervalMs?: number;
  onSamples: (samples: LagSample[]) => void;
  /** Topics whose retained depth to report (dead-letter topics). */
  depthTopics?: () => string[];
  onDepth?: (topic: string, depth: number) => void;
}

/**
 * Polls the committed and end offsets of this service's consumer groups with the admin client
 * (never touching the consume loops): the consumer-lag metric, which partitions this replica
 * owns, and the depth of dead-letter topics. Note that a transactional producer leaves a commit
 * marker after its records, so a caught-up consumer of a transactional topic shows a lag of 1;
 * the liveness rule therefore uses {@link ConsumerActivity}, not lag.
 */
export class ConsumerLagMonitor {
  private admin: Admin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private lastSamples: LagSample[] = [];

  constructor(private readonly options: LagMonitorOptions) {}

  /** The samples of the last poll. */
  get samples(): LagSample[] {
    return this.lastSamples;
  }

  start(): void {
    const interval = this.options.intervalMs ?? 5000;
    const tick = (): void => {
      this.polling = this.poll()
        .then(() => undefined)
        .catch((err: unknown) => this.options.logger.debug('lag poll failed', { error: err }))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, interval).unref();
        });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
  }

  private async connected(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.options.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  /** One observation of every watched group (also usable directly in tests). */
  async poll(): Promise<LagSample[]> {
    const admin = await this.connected();
    const { groups } = await admin.listGroups();
    const ids = groups
      .map((g) => g.groupId)
      .filter((id) => id.startsWith(this.options.groupPrefix));
    const samples: LagSample[] = [];
    const assigned = new Set<string>();
    if (ids.length > 0) {
      const described = await admin.describeGroups(ids);
      for (const g of described.groups)
        for (const m of g.members) {
          if (m.clientId !== this.options.clientId || !m.memberAssignment?.length) continue;
          const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
          for (const [topic, parts] of Object.entries(a?.assignment ?? {}))
            for (const p of parts) assigned.add(`${g.groupId}|${topic}|${p}`);
        }
    }
    const ends = new Map<string, Map<number, { high: bigint; low: bigint }>>();
    const endsOf = async (topic: string): Promise<Map<number, { high: bigint; low: bigint }>> => {
      let m = ends.get(topic);
      if (!m) {
        m = new Map();
        for (const p of await admin.fetchTopicOffsets(topic))
          m.set(p.partition, { high: BigInt(p.high), low: BigInt(p.low) });
        ends.set(topic, m);
      }
      return m;
    };
    for (const groupId of ids) {
      for (const t of await admin.fetchOffsets({ groupId })) {
        let topicEnds: Map<number, { high: bigint; low: bigint }>;
        try {
          topicEnds = await endsOf(t.topic);
        } catch {
          continue;
        }
        for (const p of t.partitions) {
          const end = topicEnds.get(p.partition);
          if (!end) continue;
          const committed = BigInt(p.offset) < 0n ? end.low : BigInt(p.offset);
          const lag = end.high > committed ? Number(end.high - committed) : 0;
          const assignedHere = assigned.has(`${groupId}|${t.topic}|${p.partition}`);
          samples.push({
            group: groupId,
            topic: t.topic,
            partition: p.partition,
            lag,
            assignedHere,
          });
        }
      }
    }
    this.lastSamples = samples;
    this.options.onSamples(samples);
    if (this.options.onDepth)
      for (const topic of this.options.depthTopics?.() ?? []) {
        try {
          let depth = 0n;
          for (const e of (await endsOf(topic)).values()) depth += e.high - e.low;
          this.options.onDepth(topic, Number(depth));
        } catch {
          // the topic does not exist (yet)
        }
      }
    return samples;
  }
}
