import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';

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
  return ref.namespace ? `${base}/namespaces/${ref.namespace}/${ref.plural}` : `${base}/${ref.plural}`;
}

/** `namespace/name` (or `name` for cluster-scoped objects), the work-queue key of an object. */
function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : `${obj.metadata?.name}`;
}

export interface WatchOptions {
  /** Called with the key of every object added, changed or deleted. */
  onKey: (key: string) => void;
  /** Called when the watch fails; it is restarted after `restartDelayMs`. */
  onError?: (err: unknown) => void;
  /** Re-deliver every cached key this often (level-triggered resync; 0 disables; default 5 min). */
  resyncMs?: number;
  /** Delay before restarting a failed watch (default 1 s, doubling to 30 s). */
  restartDelayMs?: number;
  labelSelector?: string;
}

/**
 * A client-node informer (list + watch + local cache) whose events become work-queue keys. A
 * failed list or watch restarts it with backoff instead of leaving it dead; a periodic resync
 * re-delivers every key so drift is repaired even without events.
 */
export class ResourceWatcher<T extends KubernetesObject = KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private resyncTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private synced = false;
  private failures = 0;
  private errors = 0;

  constructor(
    kc: KubeConfig,
    readonly ref: ResourceRef,
    listFn: () => Promise<KubernetesListObject<T>>,
    private readonly options: WatchOptions,
  ) {
    this.informer = makeInformer<T>(kc, resourcePath(ref), listFn, options.labelSelector);
    const onObj = (obj: T): void => options.onKey(objectKey(obj));
    this.informer.on('add', onObj);
    this.informer.on('update', onObj);
    this.informer.on('delete', onObj);
    this.informer.on('error', (err: unknown) => {
      this.errors++;
      if (this.stopped) return;
      options.onError?.(err);
      const delay = Math.min(30_000, (options.restartDelayMs ?? 1000) * 2 ** this.failures++);
      this.restartTimer = setTimeout(() => void this.startInformer(), delay);
    });
  }

  /** True once a list has completed without error. */
  get hasSynced(): boolean {
    return this.synced;
  }

  async start(): Promise<void> {
    await this.startInformer();
    const resync = this.options.resyncMs ?? 300_000;
    if (resync > 0) this.resyncTimer = setInterval(() => this.resync(), resync);
  }

  private async startInformer(): Promise<void> {
    if (this.stopped) return;
    try {
      const errorsBefore = this.errors;
      // start() resolves even when the initial list failed (the error callback reports it).
      await this.informer.start();
      if (this.errors === errorsBefore) {
        this.synced = true;
        this.failures = 0;
      }
    } catch (err) {
      // start() rejects when the initial list fails; the 'error' callback schedules the restart.
      this.options.onError?.(err);
      if (!this.restartTimer) this.restartTimer = setTimeout(() => { this.restartTimer = undefined; void this.startInformer(); }, this.options.restartDelayMs ?? 1000);
    }
  }

  /** Delivers every cached key again. */
  resync(): void {
    for (const obj of this.informer.list()) this.options.onKey(objectKey(obj));
  }

  get(key: string): T | undefined {
    const i = key.indexOf('/');
    return i < 0 ? this.informer.get(key) : this.informer.get(key.slice(i + 1), key.slice(0, i));
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }
}
