import { cappedDoubling } from '@ganglion/core';
import { resourcePath, type ResourceRef } from './informer.js';
import { isKubeError, type KubeRest } from './rest.js';

/** An object as the API server sent it (JSON, not client-node's typed models: timestamps stay strings). */
export interface RawObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    managedFields?: { operation?: string; time?: string }[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

type ObjectEventType = 'ADD' | 'UPDATE' | 'DELETE';

export interface ObjectEvent {
  type: ObjectEventType;
  obj: RawObject;
  /** The previous state (UPDATE only). */
  old?: RawObject;
}

export interface ObjectInformerOptions {
  onEvent: (event: ObjectEvent) => void;
  /** A list or watch failed; the informer retries with backoff (1 s doubling to 30 s). */
  onError?: (err: unknown) => void;
  labelSelector?: string;
  fieldSelector?: string;
}

const keyOf = (o: RawObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * A list + watch informer on any group/version/resource (namespaced or cluster-wide) that reports
 * typed changes with the previous object, as client-go's shared informer does: the first list
 * reports every object as ADD; a watch event or a later re-list reports ADD, UPDATE (with the old
 * object) or DELETE against the local cache. An object whose resourceVersion did not change is
 * not reported again (a re-list after an expired watch, `relist()`). A watch that ends or times
 * out resumes from the last resourceVersion (bookmarks keep it fresh); "410 Gone" re-lists; a
 * failed list or watch is retried with backoff. Objects are raw JSON as the server sent them.
 */
export class ObjectInformer {
  private readonly cache = new Map<string, RawObject>();
  private resourceVersion = '';
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private failures = 0;
  private listed = false;
  private generation = 0;
  /** The watch reported an error other than "410 Gone" (retried with backoff, not at once). */
  private watchError: string | undefined;

  constructor(
    private readonly rest: KubeRest,
    readonly ref: ResourceRef,
    private readonly options: ObjectInformerOptions,
  ) {}

  /** True once a list has completed. */
  get hasSynced(): boolean {
    return this.listed;
  }

  /** Lists (reporting ADDs), then watches; resolves after the first list, rejects when it fails (retries continue). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.cycle(++this.generation);
  }

  /** Lists again now and reconciles the cache (what a re-list after "410 Gone" does). */
  async relist(): Promise<void> {
    this.resourceVersion = '';
    this.controller?.abort();
    await this.cycle(++this.generation);
  }

  /** The cached objects. */
  list(): RawObject[] {
    return [...this.cache.values()];
  }

  /** The cached object `namespace/name` (`name` for a cluster-scoped one). */
  get(key: string): RawObject | undefined {
    return this.cache.get(key.includes('/') ? key : `/${key}`);
  }

  private async cycle(gen: number): Promise<void> {
    if (this.stopped || gen !== this.generation) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      if (!this.resourceVersion) await this.relistNow();
      if (this.stopped || gen !== this.generation) return;
      this.controller?.abort();
      const query: Record<string, string> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
      };
      if (this.options.labelSelector) query['labelSelector'] = this.options.labelSelector;
      if (this.options.fieldSelector) query['fieldSelector'] = this.options.fieldSelector;
      this.controller = await this.rest.watch(
        resourcePath(this.ref),
        query,
        (phase, obj) => this.onWatchEvent(phase, obj as RawObject & { code?: number }),
        (err: unknown) => this.onWatchDone(gen, err),
      );
    } catch (err) {
      if (isKubeError(err, 410)) this.resourceVersion = '';
      this.fail(gen, err);
      if (!this.listed) throw err;
    }
  }

  private onWatchEvent(phase: string, obj: RawObject & { code?: number }): void {
    if (phase === 'ERROR') {
      if (obj.code === 410) this.resourceVersion = '';
      else
        this.watchError = `watch error ${obj.code ?? ''}: ${(obj as { message?: string }).message ?? ''}`;
      return;
    }
    if (phase === 'BOOKMARK') {
      if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
      return;
    }
    this.failures = 0;
    if (phase === 'ADDED' || phase === 'MODIFIED') this.upsert(obj);
    else if (phase === 'DELETED') {
      if (this.cache.delete(keyOf(obj))) this.options.onEvent({ type: 'DELETE', obj });
    }
    if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
  }

  private onWatchDone(gen: number, err: unknown): void {
    if (this.stopped || gen !== this.generation) return;
    const e = err as { statusCode?: number; code?: number; name?: string } | null;
    if (e && (e.statusCode === 410 || e.code === 410)) this.resourceVersion = '';
    if (
      e &&
      e.name !== 'TimeoutError' &&
      e.name !== 'AbortError' &&
      !(e.statusCode === 410 || e.code === 410)
    ) {
      this.fail(gen, err);
      return;
    }
    if (this.watchError) {
      const message = this.watchError;
      this.watchError = undefined;
      this.fail(gen, new Error(message));
      return;
    }
    // A normal end (server timeout, inactivity, expired version): resume at once.
    setImmediate(() => void this.cycle(gen).catch(() => undefined));
  }

  private fail(gen: number, err: unknown): void {
    if (this.stopped || gen !== this.generation) return;
    this.options.onError?.(err);
    const delay = cappedDoubling(1000, 30_000, ++this.failures);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.cycle(gen).catch(() => undefined);
    }, delay);
  }

  private upsert(obj: RawObject): void {
    const key = keyOf(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) this.options.onEvent({ type: 'ADD', obj });
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
      this.options.onEvent({ type: 'UPDATE', obj, old });
  }

  private async relistNow(): Promise<void> {
    const list = await this.rest.list<RawObject>(resourcePath(this.ref), this.options);
    const items = list.items;
    const seen = new Set(items.map(keyOf));
    for (const [key, obj] of [...this.cache]) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.options.onEvent({ type: 'DELETE', obj });
    }
    for (const obj of items) this.upsert(obj);
    this.resourceVersion = list.resourceVersion;
    this.listed = true;
    this.failures = 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.controller?.abort();
    this.controller = undefined;
  }
}
