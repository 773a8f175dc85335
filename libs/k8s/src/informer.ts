import { ObjectInformer, type RawObject } from './object-informer.js';
import type { KubeRest } from './rest.js';

/** Where to watch: a resource of an API group, in one namespace or cluster-wide. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  /** Watch one namespace; all namespaces when unset. */
  namespace?: string;
}

export function resourcePath(ref: ResourceRef): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  return ref.namespace
    ? `${base}/namespaces/${ref.namespace}/${ref.plural}`
    : `${base}/${ref.plural}`;
}

/** `namespace/name` (or `name` for cluster-scoped objects), the work-queue key of an object. */
function objectKey(obj: RawObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : obj.metadata.name;
}

export interface WatchOptions {
  /** Called with the key of every object added, changed or deleted. */
  onKey: (key: string) => void;
  /** Called when a list or watch fails; it is retried with backoff (1 s doubling to 30 s). */
  onError?: (err: unknown) => void;
  /** Re-deliver every cached key this often (level-triggered resync; 0 disables; default 5 min). */
  resyncMs?: number;
  labelSelector?: string;
}

/**
 * An informer (list + watch + local cache, {@link ObjectInformer}) whose events become work-queue
 * keys. A failed list or watch is retried with backoff instead of leaving it dead; a periodic
 * resync re-delivers every key so drift is repaired even without events.
 */
export class ResourceWatcher<
  T extends { metadata?: { name?: string; namespace?: string } } = RawObject,
> {
  private readonly informer: ObjectInformer;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(
    rest: KubeRest,
    readonly ref: ResourceRef,
    private readonly options: WatchOptions,
  ) {
    this.informer = new ObjectInformer(rest, ref, {
      onEvent: (e) => options.onKey(objectKey(e.obj)),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    });
  }

  /** True once a list has completed without error. */
  get hasSynced(): boolean {
    return this.informer.hasSynced;
  }

  /** Starts listing and watching; resolves after the first list, or after it failed (retries continue, `onError` reports). */
  async start(): Promise<void> {
    await this.informer.start().catch(() => undefined);
    const resync = this.options.resyncMs ?? 300_000;
    if (resync > 0) this.resyncTimer = setInterval(() => this.resync(), resync);
  }

  /** Delivers every cached key again. */
  resync(): void {
    for (const obj of this.informer.list()) this.options.onKey(objectKey(obj));
  }

  get(key: string): T | undefined {
    return this.informer.get(key) as T | undefined;
  }

  list(namespace?: string): readonly T[] {
    const all = this.informer.list();
    return (namespace === undefined
      ? all
      : all.filter((o) => o.metadata.namespace === namespace)) as unknown as T[];
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.informer.stop();
  }
}
