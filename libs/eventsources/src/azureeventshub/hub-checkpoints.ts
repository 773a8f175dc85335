import type { EventBus } from '@ganglion/api';
import { TransactionalState } from '@ganglion/eventbus';
import { shortHash, type OwnedHost } from '../kit/owned-source.js';

/** How often acknowledged positions are written (ms). */
const FLUSH_MS = 1_000;

interface ClusterState {
  state: TransactionalState;
  /** Latest committed value per key (ours included once committed). */
  values: Map<string, string>;
  users: number;
}

/**
 * The checkpoints of one configured event: per partition, the sequence number of the last event
 * the bus acknowledged. Acknowledged positions are written at most once a second (and on close),
 * so a new owner resumes after the last written one: what was published after it is published
 * again, with the same CloudEvent ids (partition + sequence number).
 */
export interface HubCheckpoints {
  /** The last written sequence number of a partition, or undefined. */
  position(partitionId: string): number | undefined;
  /** The bus acknowledged the event at `sequenceNumber` (positions only move forward). */
  acknowledged(partitionId: string, sequenceNumber: number): void;
  /** Writes the acknowledged positions not written yet; rejects if they could not be. */
  flush(): Promise<void>;
  /** Flushes (errors logged), then releases the store. */
  close(): Promise<void>;
}

/**
 * Event Hubs checkpoints on Kafka, instead of Argo-style blob storage: the compacted state topic
 * of the ingress type on the bus's cluster, written by a transactional producer whose id every
 * replica shares. The type runs on one owner replica; a new owner opening the store fences the
 * previous one, so a stale owner can no longer move a checkpoint. One state per cluster, shared
 * by the type's events there, open while one of them runs (reopened, and so re-read, after).
 */
export class HubCheckpointStore {
  private readonly clusters = new Map<string, Promise<ClusterState>>();

  constructor(private readonly host: OwnedHost) {}

  /** Opens (or joins) the cluster's state and returns the checkpoints under `key`. */
  async open(bus: EventBus, key: string): Promise<HubCheckpoints> {
    // '' for the installation's cluster (as the calendar runner).
    const cluster = bus.spec.kafka?.url ? this.host.producers.clusterOf(bus) : '';
    let opening = this.clusters.get(cluster);
    if (!opening) {
      opening = (async () => {
        const state = new TransactionalState(this.host.producers.clientFor(bus), {
          stateTopic: this.host.stateTopic,
          transactionalId: `${this.host.transactionalId}-${shortHash(cluster)}`,
          logger: this.host.logger,
        });
        return { state, values: await state.open(), users: 0 };
      })();
      this.clusters.set(cluster, opening);
      opening.catch(() => this.clusters.delete(cluster));
    }
    const cs = await opening;
    cs.users++;
    const pending = new Map<string, number>();
    const field = (p: string): string => `${key}/${p}`;
    let closed = false;
    const flush = async (): Promise<void> => {
      if (!pending.size) return;
      const entries = [...pending].map(([p, seq]) => ({ key: field(p), value: String(seq) }));
      pending.clear();
      await cs.state.commit([], entries);
      for (const e of entries) cs.values.set(e.key, e.value);
    };
    const timer = setInterval(() => {
      flush().catch((err: unknown) =>
        this.host.logger.warn('checkpoints not written (another owner?)', { key, error: err }),
      );
    }, FLUSH_MS);
    return {
      position: (p) => {
        const v = cs.values.get(field(p));
        return v === undefined ? undefined : Number(v);
      },
      acknowledged: (p, seq) => {
        const known = pending.get(p) ?? Number(cs.values.get(field(p)) ?? -1);
        if (seq > known) pending.set(p, seq);
      },
      flush,
      close: async () => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        await flush().catch((err: unknown) =>
          this.host.logger.warn('checkpoints not written at close', { key, error: err }),
        );
        if (--cs.users === 0) {
          this.clusters.delete(cluster);
          await cs.state.close();
        }
      },
    };
  }
}
