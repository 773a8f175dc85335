import { eventBusTopic, type ResourceEventSource } from '@ganglion/api';
import { encodeCloudEvent } from '@ganglion/eventbus';
import {
  describeError,
  KubeRest,
  loadKubeConfig,
  ObjectInformer,
  type ObjectEvent,
  type RawObject,
} from '@ganglion/k8s';
import { buildCloudEvent, naturalEventId } from '../kit/cloudevent.js';
import { OwnedEventsRunner } from '../kit/owned-events.runner.js';
import type { OwnedEvent, OwnedHost } from '../kit/owned-source.js';
import { fieldsPredicate, labelSelector, validateResourceSource } from './resource.selectors.js';
import { metadataField } from '../kit/event-metadata.js';

/** Argo's `ResourceEventData`: `oldBody` is `null` except for UPDATE; `metadata` only when set. */
export interface ResourceEventData {
  type: 'ADD' | 'UPDATE' | 'DELETE';
  body: RawObject;
  oldBody: RawObject | null;
  group: string;
  version: string;
  resource: string;
  metadata?: Record<string, string>;
}

const ms = (t: string | undefined): number => (t ? Date.parse(t) : NaN);

/**
 * The event id: the first 32 hex digits of SHA-256 over namespace, EventSource, event name and
 * the object state, `<uid>/<resourceVersion>` (ADD and UPDATE) or `<uid>/<resourceVersion>/DELETE`.
 * A new owner that lists after a handover reports an object state that was already reported (as
 * ADD or UPDATE) under the same id, so consumers can recognize it as a redelivery.
 */
export function resourceEventId(
  ev: Pick<OwnedEvent<unknown>, 'namespace' | 'eventSource' | 'eventName'>,
  type: ObjectEvent['type'],
  obj: RawObject,
): string {
  const state = `${obj.metadata.uid ?? `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`}/${obj.metadata.resourceVersion ?? ''}`;
  return naturalEventId(
    ev.namespace,
    ev.eventSource,
    ev.eventName,
    type === 'DELETE' ? `${state}/DELETE` : state,
  );
}

interface Running {
  fingerprint: string;
  /** Unset for an invalid configuration (logged once; retried when the EventSource changes). */
  informer?: ObjectInformer;
}

/**
 * Runs the `resource` events while this replica owns the type: one list + watch informer per
 * event on `group`/`version`/`resource` (in `namespace`, or cluster-wide when empty) with the
 * `filter.labels` label selector, reporting `eventTypes` as Argo's `{type, body, oldBody, group,
 * version, resource, metadata}` after the `prefix`, `fields`, `createdBy` and `afterStart` filters.
 * An UPDATE whose resourceVersion did not change (a re-list) is not an event.
 */
export class ResourceRunner extends OwnedEventsRunner<ResourceEventSource, Running> {
  private rest: KubeRest | undefined;

  constructor(host: OwnedHost) {
    super(host, 'resource', 'resource source');
  }

  /** The informer of `<ns>/<eventSource>:<event>` (tests). */
  informer(id: string): ObjectInformer | undefined {
    return this.entries.get(id)?.informer;
  }

  protected async startEvent(ev: OwnedEvent<ResourceEventSource>): Promise<Running> {
    try {
      validateResourceSource(ev.config);
    } catch (err) {
      this.host.logger.error('resource source not started: invalid configuration', {
        event: ev.id,
        error: describeError(err),
      });
      return { fingerprint: ev.fingerprint };
    }
    try {
      this.rest ??= new KubeRest(loadKubeConfig(this.host.kubeconfig));
    } catch (err) {
      // Retried in 5 s by the caller.
      throw new Error(`Kubernetes client configuration: ${describeError(err)}`, { cause: err });
    }
    const informer = this.watch(ev, this.rest);
    const entry = { fingerprint: ev.fingerprint, informer };
    this.entries.set(ev.id, entry); // visible (informer()) while it lists
    await informer
      .start()
      .then(() =>
        this.host.logger.info('resource source watching', {
          event: ev.id,
          objects: informer.list().length,
        }),
      )
      .catch((err: unknown) =>
        this.host.logger.error('resource source: listing failed; retrying', {
          event: ev.id,
          error: describeError(err),
        }),
      );
    return entry;
  }

  protected async stopEvent(entry: Running): Promise<void> {
    await entry.informer?.stop();
  }

  private watch(ev: OwnedEvent<ResourceEventSource>, rest: KubeRest): ObjectInformer {
    const cfg = ev.config;
    const filter = cfg.filter ?? {};
    const fieldsPass = fieldsPredicate(filter.fields);
    const createdBy = filter.createdBy ? Date.parse(filter.createdBy) : undefined;
    // Timestamps have second precision: an object created in the start second counts as after it.
    const startTime = Math.floor(this.now() / 1000) * 1000;
    const types = new Set(cfg.eventTypes);
    const producer = this.host.producers.forBus(ev.bus);
    const topic = eventBusTopic(ev.bus);
    const logger = this.host.logger.child({ event: ev.id });
    const selector = labelSelector(filter.labels);

    const passes = (type: ObjectEvent['type'], obj: RawObject): boolean => {
      if (filter.prefix && !obj.metadata.name.startsWith(filter.prefix)) return false;
      // Only an ADD can predate the start (the initial list); every UPDATE and DELETE the
      // informer reports is a change it observed after it started.
      if (filter.afterStart && type === 'ADD' && ms(obj.metadata.creationTimestamp) < startTime)
        return false;
      if (createdBy !== undefined && ms(obj.metadata.creationTimestamp) > createdBy) return false;
      return fieldsPass(obj);
    };

    return new ObjectInformer(
      rest,
      {
        group: cfg.group ?? '',
        version: cfg.version,
        plural: cfg.resource,
        ...(cfg.namespace ? { namespace: cfg.namespace } : {}),
      },
      {
        ...(selector ? { labelSelector: selector } : {}),
        onError: (err) =>
          logger.warn('resource watch failed; retrying', { error: describeError(err) }),
        onEvent: ({ type, obj, old }) => {
          if (!types.has(type) || !passes(type, obj)) return;
          const data: ResourceEventData = {
            type,
            body: obj,
            oldBody: type === 'UPDATE' && old ? old : null,
            group: cfg.group ?? '',
            version: cfg.version,
            resource: cfg.resource,
            ...metadataField(cfg.metadata),
          };
          const event = buildCloudEvent({
            id: resourceEventId(ev, type, obj),
            type: 'resource',
            source: ev.eventSource,
            subject: ev.eventName,
            data,
            namespace: ev.namespace,
          });
          producer
            .send({ topic, ...encodeCloudEvent(event, `${ev.eventSource}.${ev.eventName}`) })
            .catch((err: unknown) =>
              logger.error('resource event not published', {
                type,
                object: `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`,
                error: err,
              }),
            );
        },
      },
    );
  }
}
