import { watch, type FSWatcher } from 'node:fs';
import { eventBusTopic, namespaceOf, type AnyResource, type EventBus } from '@ganglion/api';
import {
  BatchingProducer,
  busTopicConfigs,
  busTopicPolicy,
  DEFAULT_TOPIC_POLICY,
  type TopicPolicy,
  busTopics,
  ensureTopics,
  type BusClients,
  type ResourceStore,
} from '@ganglion/eventbus';
import { processMetrics, type Logger } from '@ganglion/telemetry';
import { loadDirectory } from './directory.source.js';

export interface DirectoryReconcilerOptions {
  /** The directory of EventSource/Sensor/EventBus manifests (`GANGLION_RESOURCES_DIR`). */
  dir: string;
  /** The compacted resources topic the data plane reads. */
  resourcesTopic: string;
  /** Partitions and replication factor of the topics created for an EventBus. */
  partitions: number;
  replicationFactor: number;
  /** How bus topics are created (replication, min.insync.replicas, size and retention); defaults when unset. */
  topics?: TopicPolicy;
  logger: Logger;
}

/**
 * Directory mode (local stack): the manifests under `GANGLION_RESOURCES_DIR` are the desired
 * state. Each sync validates them, creates the topics of every EventBus, publishes new or
 * changed resources to the compacted resources topic and tombstones the ones that disappeared.
 * A file change triggers a sync (debounced). An invalid document is reported and its last good
 * version stays published.
 */
export class DirectoryReconciler {
  private readonly dir: string;
  private readonly logger: Logger;
  private producer: BatchingProducer | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  /** The first sync is done (readiness). */
  synced = false;

  constructor(
    private readonly clients: BusClients,
    private readonly store: ResourceStore,
    private readonly options: DirectoryReconcilerOptions,
  ) {
    this.dir = options.dir;
    this.logger = options.logger;
  }

  /** Publishes the directory's resources once, then watches it. */
  async start(): Promise<void> {
    this.producer = new BatchingProducer(this.clients.installation, {
      logger: this.logger,
      onBatch: processMetrics().batchObserver('resources'),
    });
    await this.sync();
    this.synced = true;
    this.watcher = watch(this.dir, { recursive: true }, () => this.schedule());
    this.logger.info('watching manifests', { dir: this.dir });
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.syncing = this.syncing
        .then(() => this.sync())
        .catch((err: unknown) => this.logger.error('sync failed', { error: err }));
    }, 150);
  }

  /** One level-triggered pass over the directory. */
  async sync(): Promise<void> {
    const { resources, problems } = await loadDirectory(this.dir);
    for (const p of problems)
      this.logger[p.severity === 'error' ? 'error' : 'warn']('invalid manifest', {
        file: p.file,
        document: p.document,
        problem: p.message,
      });
    const invalidFiles = new Set(problems.filter((p) => p.severity === 'error').map((p) => p.file));

    for (const r of resources.values()) if (r.kind === 'EventBus') await this.ensureBusTopics(r);
    for (const r of resources.values()) this.checkReferences(r, resources);

    const records: { key: string; value: string | null }[] = [];
    for (const [key, r] of resources) {
      const current = this.store.get(r.kind, namespaceOf(r), r.metadata.name);
      if (!current || JSON.stringify(current) !== JSON.stringify(r))
        records.push({ key, value: JSON.stringify(r) });
    }
    // Resources that left the directory are deleted, unless a file failed to parse: then the
    // missing resource may be in that file, and deleting it would act on a typo.
    if (invalidFiles.size === 0)
      for (const kind of ['EventSource', 'Sensor', 'EventBus'] as const)
        for (const r of this.store.list(kind)) {
          const key = `${kind}/${namespaceOf(r)}/${r.metadata.name}`;
          if (!resources.has(key)) records.push({ key, value: null });
        }
    if (records.length === 0) return;
    const topic = this.options.resourcesTopic;
    await Promise.all(
      records.map((r) => this.producer!.send({ topic, key: r.key, value: r.value })),
    );
    for (const r of records)
      this.logger.info(r.value === null ? 'deleted resource' : 'published resource', {
        key: r.key,
      });
  }

  private async ensureBusTopics(bus: EventBus): Promise<void> {
    const admin = this.clients.clientFor(bus).admin();
    await admin.connect();
    try {
      const created = await ensureTopics(
        admin,
        busTopicConfigs(busTopics(eventBusTopic(bus)), {
          ...busTopicPolicy(bus, {
            ...DEFAULT_TOPIC_POLICY,
            ...this.options.topics,
            replicationFactor: this.options.replicationFactor,
          }),
          partitions: this.options.partitions,
        }),
      );
      if (created.length)
        this.logger.info('created topics', {
          eventBus: `${namespaceOf(bus)}/${bus.metadata.name}`,
          topics: created,
        });
    } finally {
      await admin.disconnect();
    }
  }

  private checkReferences(r: AnyResource, all: Map<string, AnyResource>): void {
    if (r.kind === 'EventBus') return;
    const bus = (r.spec as { eventBusName?: string }).eventBusName || 'default';
    if (!all.has(`EventBus/${namespaceOf(r)}/${bus}`))
      this.logger.warn('resource references an EventBus that does not exist', {
        resource: `${r.kind}/${namespaceOf(r)}/${r.metadata.name}`,
        eventBus: bus,
      });
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
    await this.syncing;
    await this.producer?.close();
  }
}
