// Types only (the shapes of ObjectMeta and Service); requests go through @ganglion/k8s's KubeRest.
import type { V1ObjectMeta, V1Service, V1ServicePort } from '@kubernetes/client-node';
import {
  DEFAULT_EVENTBUS,
  KINDS,
  SOURCE_KINDS,
  eventBusTopic,
  unverifiedTriggerMessage,
  unverifiedTriggerTypes,
  normalizeResource,
  parseResourceKey,
  resourceKey,
  notVerifiedMessage,
  unverifiedSourceTypes,
  validateResource,
  type AnyResource,
  type EventBus,
  type EventSource,
  type Kind,
} from '@ganglion/api';
import {
  KubeRest,
  ResourceWatcher,
  WorkQueue,
  describeError,
  isApiError,
  jsonEqual,
  nextStatus,
  patchFinalizers,
  patchStatus,
  type CustomResourceType,
  type DesiredCondition,
  type KubeConfig,
  type ResourceStatus,
} from '@ganglion/k8s';
import type { Logger } from '@ganglion/telemetry';
import { claimConflict } from './resource.claims.js';
import { deployed, specConditions } from './resource.conditions.js';

/** The argoproj.io/v1alpha1 custom resources, by kind. */
export const RESOURCE_TYPES: Record<Kind, CustomResourceType> = {
  EventSource: { group: 'argoproj.io', version: 'v1alpha1', plural: 'eventsources' },
  Sensor: { group: 'argoproj.io', version: 'v1alpha1', plural: 'sensors' },
  EventBus: { group: 'argoproj.io', version: 'v1alpha1', plural: 'eventbus' },
};

/** Added to every object the reconciler manages; removed once its deletion is handled. */
export const FINALIZER = 'ganglion.argoproj.io/reconciler';
/** Label on the Services the reconciler creates. */
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'ganglion-reconciler' } as const;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface KubeResource {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec?: Record<string, unknown>;
  status?: ResourceStatus;
}

/** What the reconciler does to Kafka: the data plane's configuration and the EventBus topics. */
export interface ResourcePublisher {
  /** What the resources topic holds for `key` (as far as this replica knows). */
  current(key: string): AnyResource | undefined;
  /** Publishes `resource` under `key`, or a tombstone for `null`. */
  publish(key: string, resource: AnyResource | null): Promise<void>;
  /** Creates the EventBus's topics if missing; returns their names. */
  ensureBusTopics(bus: EventBus): Promise<string[]>;
}

/** The routes the push ingress reports it does not serve (libs/eventbus `RouteStatusView`). */
interface RouteStatusSource {
  refused(namespace: string, name: string): { reason: string; message: string }[];
  onChange(listener: (namespace: string, name: string) => void): () => void;
}

export interface KubernetesControllerOptions {
  /** Watch one namespace (namespaced install); all namespaces when unset. */
  namespace?: string;
  /** Labels of the ingress pods; the Services of webhook EventSources select them. */
  ingressSelector: Record<string, string>;
  /** Put those Services here instead of the EventSource's namespace (cluster-wide install). */
  ingressNamespace?: string;
  /** Only objects matching this label selector (e.g. `ganglion.io/shard=a`); all when unset. */
  labelSelector?: string;
  /** Level-triggered resync of every object (ms; 0 disables). */
  resyncMs?: number;
  /** Name of the resources topic, for status messages. */
  resourcesTopic: string;
  /**
   * What the push ingress reports about the routes it does not serve; with it, a deployed
   * EventSource with push sources gets the `RoutesServed` condition.
   */
  routeStatus?: RouteStatusSource;
  logger: Logger;
  now?: () => Date;
}

/**
 * The Kubernetes-mode reconciler: informers on EventSource, Sensor and EventBus feed one
 * de-duplicating work queue of `<kind>/<namespace>/<name>` keys; each key is reconciled from
 * the current cached object (level-triggered), failures are retried with per-key backoff.
 * A reconcile writes to the API only what differs from the object's current state, so
 * reconciling an unchanged object performs no write.
 */
export class KubernetesController {
  /** Reconciles run and API writes made (for tests and metrics). */
  readonly stats = { reconciles: 0, writes: 0 };
  private readonly rest: KubeRest;
  private readonly watchers: Record<Kind, ResourceWatcher<KubeResource>>;
  private readonly queue: WorkQueue;
  private readonly now: () => Date;
  /**
   * Status written per object, with the resourceVersion it was written over. Until the informer
   * shows a newer version, a reconcile of the stale copy that wants the same status writes
   * nothing (the informer's update event reconciles again once it has caught up).
   */
  private readonly statusWritten = new Map<
    string,
    { overVersion: string | undefined; signature: string }
  >();
  private unsubscribe: (() => void) | undefined;

  constructor(
    kc: KubeConfig,
    private readonly publisher: ResourcePublisher,
    private readonly options: KubernetesControllerOptions,
  ) {
    this.rest = new KubeRest(kc);
    this.now = options.now ?? (() => new Date());
    const log = options.logger;
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: 2,
      onError: (key, err, retryInMs) =>
        // A conflict only means the cache was behind the server: the newer version is on its way.
        isApiError(err, 409)
          ? log.debug('conflict; reconciling again', { key, retryInMs })
          : log.warn('reconcile failed; retrying', { key, error: describeError(err), retryInMs }),
    });
    const watcher = (kind: Kind): ResourceWatcher<KubeResource> => {
      const type = RESOURCE_TYPES[kind];
      const ns = options.namespace;
      const labelSelector = options.labelSelector;
      return new ResourceWatcher<KubeResource>(
        this.rest,
        { ...type, ...(ns ? { namespace: ns } : {}) },
        {
          onKey: (k) => this.onEvent(kind, k),
          onError: (err) =>
            log.warn('watch failed; restarting', { kind, error: describeError(err) }),
          resyncMs: options.resyncMs ?? 300_000,
          ...(labelSelector ? { labelSelector } : {}),
        },
      );
    };
    this.watchers = {
      EventSource: watcher('EventSource'),
      Sensor: watcher('Sensor'),
      EventBus: watcher('EventBus'),
    };
  }

  async start(): Promise<void> {
    // Only EventSources this controller manages: a key it does not watch (another shard's, or
    // another namespace's) must not be reconciled here (its reconcile would unpublish it).
    this.unsubscribe = this.options.routeStatus?.onChange((ns, name) => {
      if (this.watchers.EventSource.get(`${ns}/${name}`))
        this.queue.add(resourceKey('EventSource', ns, name));
    });
    await Promise.all(KINDS.map((k) => this.watchers[k].start()));
    this.options.logger.info('watching resources', {
      namespace: this.options.namespace ?? '(all namespaces)',
    });
  }

  get synced(): boolean {
    return KINDS.every((k) => this.watchers[k].hasSynced);
  }

  /** Re-queues every object (as the periodic resync does). */
  resync(): void {
    for (const k of KINDS) this.watchers[k].resync();
  }

  /** Resolves when no key is queued or in process. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all(KINDS.map((k) => this.watchers[k].stop()));
    await this.queue.stop();
  }

  private onEvent(kind: Kind, nsName: string): void {
    const [namespace, name] = nsName.split('/') as [string, string];
    this.queue.add(resourceKey(kind, namespace, name));
    this.retryConflicted(kind);
    // An EventBus's deletion waits for its users, and its users wait for it.
    if (kind === 'EventBus') {
      for (const k of ['EventSource', 'Sensor'] as const)
        for (const o of this.watchers[k].list(namespace))
          if (busName(o) === name) this.queue.add(resourceKey(k, namespace, o.metadata.name!));
    } else {
      for (const b of this.watchers.EventBus.list(namespace))
        if (b.metadata.deletionTimestamp)
          this.queue.add(resourceKey('EventBus', namespace, b.metadata.name!));
    }
  }

  /** One level-triggered reconcile of a key. */
  private async reconcile(key: string): Promise<void> {
    this.stats.reconciles++;
    const ref = parseResourceKey(key);
    if (!ref) return;
    const obj = this.watchers[ref.kind].get(`${ref.namespace}/${ref.name}`);
    if (!obj) {
      // Gone (deleted before a finalizer was set, or after it was removed): make sure the data plane knows.
      if (this.publisher.current(key)) {
        await this.publisher.publish(key, null);
        this.retryConflicted(ref.kind);
      }
      return;
    }
    if (obj.metadata.deletionTimestamp) return this.finalize(ref.kind, key, obj);
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) {
      await this.write(() =>
        patchFinalizers(
          this.rest,
          RESOURCE_TYPES[ref.kind],
          ref.namespace,
          ref.name,
          obj.metadata.resourceVersion,
          [...finalizers, FINALIZER],
        ),
      );
      return; // the update event brings the object back with its finalizer
    }
    const manifest = toManifest(ref.kind, obj);
    const errors = validateResource(manifest).filter((i) => i.severity === 'error');
    const conditions = specConditions(ref.kind, errors);
    const extra: Record<string, unknown> = {};
    let failure: unknown;
    if (errors.length) {
      conditions.push(
        deployed(
          'False',
          'InvalidSpec',
          this.publisher.current(key)
            ? 'the spec is invalid; the last valid generation stays deployed'
            : 'the spec is invalid; not deployed',
        ),
      );
    } else {
      try {
        const d = await this.deploy(ref.kind, key, manifest, extra);
        conditions.push(d);
        const served = d.status === 'True' ? this.routesServed(manifest) : undefined;
        if (served) conditions.push(served);
      } catch (err) {
        failure = err;
        conditions.push(deployed('False', 'DeployFailed', describeError(err)));
      }
    }
    await this.writeStatus(ref.kind, obj, conditions, extra);
    if (failure) throw failure;
  }

  /** Makes the data plane run `r`; returns the Deployed condition. */
  private async deploy(
    kind: Kind,
    key: string,
    r: AnyResource,
    extra: Record<string, unknown>,
  ): Promise<DesiredCondition> {
    const ns = r.metadata.namespace!;
    const conflict = this.conflict(kind, key, r);
    if (conflict) return conflict;
    if (r.kind === 'EventBus') {
      const topics = await this.publisher.ensureBusTopics(r);
      extra['config'] = {
        kafka: { ...(r.spec.kafka?.url ? { url: r.spec.kafka.url } : {}), topic: eventBusTopic(r) },
      };
      await this.publishIfChanged(key, r);
      return deployed(
        'True',
        'TopicsReady',
        `topics ${topics.join(', ')} exist; published to ${this.options.resourcesTopic}`,
      );
    }
    const bus = busName(r);
    const busObj = this.watchers.EventBus.get(`${ns}/${bus}`);
    if (!busObj || busObj.metadata.deletionTimestamp)
      return deployed(
        'False',
        'EventBusNotFound',
        `EventBus "${bus}" does not exist in namespace ${ns}`,
      );
    if (!busObj.status?.conditions?.some((c) => c.type === 'Deployed' && c.status === 'True'))
      return deployed('False', 'EventBusNotReady', `EventBus "${bus}" is not deployed yet`);
    await this.publishIfChanged(key, r);
    let message = `published to ${this.options.resourcesTopic}`;
    if (kind === 'EventSource') {
      const svc = await this.reconcileService(r as EventSource);
      if (svc) message += `; Service ${svc}`;
      const unverified = unverifiedSourceTypes(r.spec);
      if (unverified.length)
        return deployed('True', 'NotVerified', `${notVerifiedMessage(unverified)}; ${message}`);
    }
    if (kind === 'Sensor') {
      const unverified = unverifiedTriggerTypes(r.spec);
      if (unverified.length) message += `; ${unverifiedTriggerMessage(unverified)}`;
    }
    return deployed('True', 'Published', message);
  }

  /**
   * `RoutesServed` of a deployed EventSource with push sources: False while an ingress replica
   * reports a route it does not serve (reason `SecretMissing`, `SecretEmpty` or `RouteInvalid`,
   * the message naming the type, the event and the Secret), True once none does.
   */
  private routesServed(r: AnyResource): DesiredCondition | undefined {
    const status = this.options.routeStatus;
    if (!status || r.kind !== 'EventSource') return undefined;
    const push = Object.keys(r.spec).some(
      (k) => (SOURCE_KINDS as Record<string, string>)[k] === 'push',
    );
    if (!push) return undefined;
    const refused = status.refused(r.metadata.namespace!, r.metadata.name);
    if (refused.length === 0)
      return {
        type: 'RoutesServed',
        status: 'True',
        reason: 'Served',
        message: 'no ingress replica reports a route it does not serve',
      };
    const text = refused.map((x) => x.message).join('; ');
    return {
      type: 'RoutesServed',
      status: 'False',
      reason: refused[0]!.reason,
      message: text.length > 1000 ? `${text.slice(0, 999)}…` : text,
    };
  }

  /** A route or topics held by a resource of `kind` may be free now: the ones waiting for them try again. */
  private retryConflicted(kind: Kind): void {
    if (kind !== 'EventSource' && kind !== 'EventBus') return;
    for (const o of this.watchers[kind].list())
      if (
        o.status?.conditions?.some(
          (c) => c.type === 'Deployed' && /^(Route|Topic)Conflict$/.test(c.reason ?? ''),
        )
      )
        this.queue.add(resourceKey(kind, o.metadata.namespace!, o.metadata.name!));
  }

  /**
   * Deployed=False when `r` claims what another published resource holds: an EventSource's
   * route (`RouteConflict`) or an EventBus's topics (`TopicConflict`), in any namespace. The
   * holder keeps it; the newcomer is not published (its last published generation, if any,
   * stays) and is reconciled again when a resource of its kind changes.
   */
  private conflict(kind: Kind, key: string, r: AnyResource): DesiredCondition | undefined {
    if (kind !== 'EventSource' && kind !== 'EventBus') return undefined;
    const holders: AnyResource[] = [];
    for (const o of this.watchers[kind].list()) {
      const k = resourceKey(kind, o.metadata.namespace!, o.metadata.name!);
      const published = k === key ? undefined : this.publisher.current(k);
      if (published) holders.push(published);
    }
    const why = claimConflict(r, holders);
    if (!why) return undefined;
    const kept = this.publisher.current(key)
      ? 'the last published generation stays deployed'
      : 'not deployed';
    return deployed(
      'False',
      kind === 'EventSource' ? 'RouteConflict' : 'TopicConflict',
      `${why}; ${kept}`,
    );
  }

  private async publishIfChanged(key: string, r: AnyResource): Promise<void> {
    if (!jsonEqual(this.publisher.current(key), r)) await this.publisher.publish(key, r);
  }

  private async writeStatus(
    kind: Kind,
    obj: KubeResource,
    conditions: DesiredCondition[],
    extra: Record<string, unknown>,
  ): Promise<void> {
    const next = nextStatus(obj.status, conditions, obj.metadata.generation, this.now(), extra);
    const key = `${kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    if (!next) {
      this.statusWritten.delete(key);
      return;
    }
    // Conditions without their transition times: what a stale copy would recompute identically.
    const signature = JSON.stringify({
      ...next,
      conditions: next.conditions?.map(({ lastTransitionTime: _t, ...c }) => c),
    });
    const written = this.statusWritten.get(key);
    if (
      written &&
      written.overVersion === obj.metadata.resourceVersion &&
      written.signature === signature
    )
      return;
    await this.write(() =>
      patchStatus(
        this.rest,
        RESOURCE_TYPES[kind],
        obj.metadata.namespace!,
        obj.metadata.name!,
        obj.metadata.resourceVersion,
        next,
      ),
    );
    this.statusWritten.set(key, { overVersion: obj.metadata.resourceVersion, signature });
  }

  private async finalize(kind: Kind, key: string, obj: KubeResource): Promise<void> {
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    const ns = obj.metadata.namespace!;
    const name = obj.metadata.name!;
    if (kind === 'EventBus') {
      const users = (['EventSource', 'Sensor'] as const).flatMap((k) =>
        this.watchers[k]
          .list(ns)
          .filter((o) => busName(o) === name)
          .map((o) => `${k}/${o.metadata.name}`),
      );
      if (users.length) {
        const conditions = (obj.status?.conditions ?? []).filter((c) => c.type !== 'Deployed');
        await this.writeStatus(
          kind,
          obj,
          [
            ...conditions,
            deployed(
              'False',
              'InUse',
              `cannot delete: still used by ${users.sort().join(', ')}; delete those first`,
            ),
          ],
          {},
        );
        return;
      }
    }
    if (this.publisher.current(key)) {
      await this.publisher.publish(key, null);
      this.retryConflicted(kind);
    }
    if (kind === 'EventSource') await this.deleteService(ns, name);
    await this.write(() =>
      patchFinalizers(
        this.rest,
        RESOURCE_TYPES[kind],
        ns,
        name,
        obj.metadata.resourceVersion,
        finalizers.filter((f) => f !== FINALIZER),
      ),
    );
    this.statusWritten.delete(`${kind}/${ns}/${name}`);
    this.options.logger.info('deleted', { key });
  }

  private serviceRef(
    ns: string,
    esName: string,
  ): { namespace: string; name: string; owned: boolean } {
    const target = this.options.ingressNamespace ?? ns;
    const owned = target === ns;
    return {
      namespace: target,
      name: (owned ? `${esName}-eventsource-svc` : `${ns}-${esName}-eventsource-svc`)
        .slice(0, 63)
        .replace(/-+$/, ''),
      owned,
    };
  }

  /**
   * Argo's `spec.service`: a ClusterIP Service for the EventSource's webhook ports, here
   * selecting the ingress pods that serve them. Created, corrected or deleted as the spec says.
   */
  private async reconcileService(es: EventSource): Promise<string | undefined> {
    const ns = es.metadata.namespace!;
    const ref = this.serviceRef(ns, es.metadata.name);
    const desired = this.desiredService(es, ref);
    let current: V1Service | undefined;
    try {
      current = await this.rest.request<V1Service>('GET', servicePath(ref.namespace, ref.name));
    } catch (err) {
      if (!isApiError(err, 404)) throw err;
    }
    if (!desired) {
      if (
        current &&
        current.metadata?.labels?.['app.kubernetes.io/managed-by'] ===
          MANAGED_BY['app.kubernetes.io/managed-by']
      )
        await this.write(() => this.rest.request('DELETE', servicePath(ref.namespace, ref.name)));
      return undefined;
    }
    if (!current) {
      await this.write(() => this.rest.request('POST', servicePath(ref.namespace), desired));
    } else if (!serviceMatches(current, desired)) {
      // A merge patch merges maps: selector keys that must go are set to null.
      const selector: Record<string, string | null> = Object.fromEntries(
        Object.keys(current.spec?.selector ?? {}).map((k) => [k, null]),
      );
      Object.assign(selector, desired.spec!.selector);
      const patch = {
        metadata: {
          labels: desired.metadata!.labels,
          ...(desired.metadata!.annotations ? { annotations: desired.metadata!.annotations } : {}),
        },
        spec: { selector, ports: desired.spec!.ports },
      };
      await this.write(() => this.rest.mergePatch(servicePath(ref.namespace, ref.name), patch));
    }
    return `${ref.namespace}/${ref.name}`;
  }

  private desiredService(
    es: EventSource,
    ref: { namespace: string; name: string; owned: boolean },
  ): V1Service | undefined {
    const svc = es.spec.service;
    if (!svc) return undefined;
    let ports = (svc.ports ?? []) as unknown as V1ServicePort[];
    if (ports.length === 0)
      ports = webhookPorts(es).map((p) => ({
        name: `http-${p}`,
        port: p,
        targetPort: p as unknown as V1ServicePort['targetPort'],
      }));
    if (ports.length === 0) return undefined;
    const ns = es.metadata.namespace!;
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: ref.name,
        namespace: ref.namespace,
        labels: {
          ...(svc.metadata?.labels ?? {}),
          ...MANAGED_BY,
          'eventsource-name': es.metadata.name,
          'eventsource-namespace': ns,
        },
        ...(svc.metadata?.annotations ? { annotations: svc.metadata.annotations } : {}),
        ...(ref.owned && es.metadata.uid
          ? {
              ownerReferences: [
                {
                  apiVersion: 'argoproj.io/v1alpha1',
                  kind: 'EventSource',
                  name: es.metadata.name,
                  uid: es.metadata.uid,
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            }
          : {}),
      },
      spec: {
        type: 'ClusterIP',
        selector: this.options.ingressSelector,
        ports,
        ...(svc.clusterIP ? { clusterIP: svc.clusterIP } : {}),
      },
    };
  }

  private async deleteService(ns: string, esName: string): Promise<void> {
    const ref = this.serviceRef(ns, esName);
    try {
      const current = await this.rest.request<V1Service>(
        'GET',
        servicePath(ref.namespace, ref.name),
      );
      if (
        current.metadata?.labels?.['app.kubernetes.io/managed-by'] ===
        MANAGED_BY['app.kubernetes.io/managed-by']
      )
        await this.write(() => this.rest.request('DELETE', servicePath(ref.namespace, ref.name)));
    } catch (err) {
      if (!isApiError(err, 404)) throw err;
    }
  }

  private async write<T>(fn: () => Promise<T>): Promise<T> {
    this.stats.writes++;
    return fn();
  }
}

function busName(o: { spec?: Record<string, unknown> } | AnyResource): string {
  return (
    ((o.spec as { eventBusName?: string } | undefined)?.eventBusName as string) || DEFAULT_EVENTBUS
  );
}

/** The object as a manifest (what validation and the data plane see): no status, no server-side bookkeeping. */
function toManifest(kind: Kind, obj: KubeResource): AnyResource {
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  const metadata = {
    name: obj.metadata.name!,
    namespace: obj.metadata.namespace!,
    ...(obj.metadata.generation !== undefined ? { generation: obj.metadata.generation } : {}),
    ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
    ...(obj.metadata.labels ? { labels: obj.metadata.labels } : {}),
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
  return normalizeResource({
    apiVersion: 'argoproj.io/v1alpha1',
    kind,
    metadata,
    spec: obj.spec ?? {},
  } as AnyResource);
}

/** The distinct ports of the EventSource's webhook-family sources (`<type>.<event>.port` or `.webhook.port`). */
function webhookPorts(es: EventSource): number[] {
  const ports = new Set<number>();
  for (const [field, value] of Object.entries(es.spec)) {
    if (
      ['eventBusName', 'template', 'service', 'replicas'].includes(field) ||
      typeof value !== 'object' ||
      value === null
    )
      continue;
    for (const cfg of Object.values(value as Record<string, unknown>)) {
      const c = cfg as { port?: unknown; webhook?: { port?: unknown } } | null;
      const p = Number(c?.port ?? c?.webhook?.port);
      if (Number.isInteger(p) && p > 0 && p < 65536) ports.add(p);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** The API path of the Services of `namespace`, or of one of them. */
const servicePath = (namespace: string, name?: string): string =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/services${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;

function normalPorts(ports: V1ServicePort[] | undefined): unknown[] {
  return (ports ?? []).map((p) => ({
    name: p.name ?? '',
    port: p.port,
    targetPort: String(p.targetPort ?? p.port),
    protocol: p.protocol ?? 'TCP',
  }));
}

function serviceMatches(current: V1Service, desired: V1Service): boolean {
  const labels = current.metadata?.labels ?? {};
  return (
    jsonEqual(current.spec?.selector ?? {}, desired.spec?.selector ?? {}) &&
    jsonEqual(normalPorts(current.spec?.ports), normalPorts(desired.spec?.ports)) &&
    Object.entries(desired.metadata?.labels ?? {}).every(([k, v]) => labels[k] === v) &&
    Object.entries(desired.metadata?.annotations ?? {}).every(
      ([k, v]) => current.metadata?.annotations?.[k] === v,
    )
  );
}
