import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { BusProducers } from '@ganglion/eventbus';
import {
  kafkaBrokers,
  kubeApiServer,
  uniquePrefix,
  waitFor,
  type KubeApiServer,
} from '@ganglion/testing';
import {
  BusFixture,
  eventSource,
  MemoryStore,
  type Received,
} from '../kit/push-harness.test-support.js';
import { ResourceRunner, resourceEventId, type ResourceEventData } from './resource.runner.js';
import { labelSelector } from './resource.selectors.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The resource source on a real kube-apiserver, publishing to a real broker. */
describe('resource source', { timeout: 300_000 }, () => {
  let kube: KubeApiServer;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let ns: string;
  let bus: BusFixture;
  let store: MemoryStore;
  let producers: BusProducers;
  const runners: ResourceRunner[] = [];

  const newRunner = async (): Promise<ResourceRunner> => {
    const runner = new ResourceRunner({
      store,
      producers,
      logger: bus.logger,
      stateTopic: 'unused',
      transactionalId: 'unused',
      kubeconfig: kube.kubeconfigPath,
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };

  before(async () => {
    kube = await kubeApiServer();
    const kc = kube.adminConfig();
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    ns = await kube.namespace('resource');
    bus = await new BusFixture(await kafkaBrokers(), `${uniquePrefix('resource')}-bus`).start();
    store = new MemoryStore();
    store.put(bus.bus());
    producers = bus.clients.producers();
  });

  after(async () => {
    for (const r of runners) await r.stop();
    await producers.close();
    await bus.stop();
  });

  const events = (es: string, subject: string): Received[] =>
    bus.from(es).filter((r) => r.event.subject === subject);
  const data = (r: Received): ResourceEventData => r.data as ResourceEventData;
  const cm = (
    name: string,
    labels: Record<string, string> = {},
    d: Record<string, string> = {},
  ) => ({ metadata: { name, namespace: ns, labels }, data: d });

  it('reports create, update and delete of ConfigMaps with Argo data shape and deterministic ids', async () => {
    store.put(
      eventSource('cms', {
        resource: {
          all: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD', 'UPDATE', 'DELETE'],
            metadata: { team: 'a' },
          },
        },
      }),
    );
    const runner = runners[0] ?? (await newRunner());
    await waitFor(() => runner.informer(`default/cms:all`)?.hasSynced === true, {
      what: 'informer synced',
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('one', { app: 'x' }, { k: 'v1' }),
    });
    await waitFor(() => events('cms', 'all').some((r) => data(r).body.metadata.name === 'one'), {
      what: 'ADD of one',
    });
    await core.patchNamespacedConfigMap(
      { name: 'one', namespace: ns, body: { data: { k: 'v2' } } },
      MERGE_PATCH,
    );
    await waitFor(() => events('cms', 'all').some((r) => data(r).type === 'UPDATE'), {
      what: 'UPDATE of one',
    });
    await core.deleteNamespacedConfigMap({ name: 'one', namespace: ns });
    await waitFor(() => events('cms', 'all').some((r) => data(r).type === 'DELETE'), {
      what: 'DELETE of one',
    });

    const got = events('cms', 'all').filter((r) => data(r).body.metadata.name === 'one');
    assert.deepEqual(
      got.map((r) => data(r).type),
      ['ADD', 'UPDATE', 'DELETE'],
    );
    const [add, upd, del] = got as [Received, Received, Received];
    assert.deepEqual(Object.keys(add.data as object), [
      'type',
      'body',
      'oldBody',
      'group',
      'version',
      'resource',
      'metadata',
    ]);
    assert.equal(data(add).oldBody, null);
    assert.equal(data(add).group, '');
    assert.equal(data(add).version, 'v1');
    assert.equal(data(add).resource, 'configmaps');
    assert.deepEqual(data(add).metadata, { team: 'a' });
    assert.equal(data(add).body.kind, 'ConfigMap');
    assert.equal(data(add).body.apiVersion, 'v1');
    assert.deepEqual(data(add).body['data'], { k: 'v1' });
    assert.match(
      String(data(add).body.metadata.creationTimestamp),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
      'timestamps as the server wrote them',
    );
    assert.deepEqual(data(upd).body['data'], { k: 'v2' });
    assert.deepEqual(data(upd).oldBody?.['data'], { k: 'v1' });
    assert.notEqual(
      data(upd).body.metadata.resourceVersion,
      data(upd).oldBody?.metadata.resourceVersion,
    );
    assert.equal(data(del).oldBody, null);
    assert.equal(add.event.type, 'resource');
    assert.equal(add.event.source, 'cms');
    assert.equal(add.key, 'cms.all');
    const ids = got.map((r) => r.event.id);
    assert.equal(new Set(ids).size, 3);
    assert.equal(
      add.event.id,
      resourceEventId(
        { namespace: 'default', eventSource: 'cms', eventName: 'all' },
        'ADD',
        data(add).body,
      ),
    );
  });

  it('label, field and prefix filters and eventTypes select what is reported', async () => {
    store.put(
      eventSource('filtered', {
        resource: {
          labels: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD'],
            filter: {
              labels: [
                { key: 'tier', operation: 'in', value: 'web,api' },
                { key: 'skip', operation: '!' },
              ],
            },
          },
          fields: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD'],
            filter: {
              fields: [
                { key: 'data.color', operation: '==', value: '^(red|blue)$' },
                { key: 'metadata.name', operation: '!=', value: 'x$' },
              ],
            },
          },
          prefix: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD'],
            filter: { prefix: 'keep-' },
          },
          deletes: { namespace: ns, version: 'v1', resource: 'configmaps', eventTypes: ['DELETE'] },
          invalid: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD'],
            filter: { labels: [{ key: 'tier', operation: 'exists', value: 'web' }] },
          },
        },
      }),
    );
    const runner = runners[0] ?? (await newRunner());
    await waitFor(
      () =>
        ['labels', 'fields', 'prefix', 'deletes'].every(
          (e) => runner.informer(`default/filtered:${e}`)?.hasSynced === true,
        ),
      { what: 'informers synced' },
    );
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('f-web', { tier: 'web' }, { color: 'green' }),
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('f-db', { tier: 'db' }, { color: 'red' }),
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('f-skip', { tier: 'api', skip: 'y' }, { color: 'redx' }),
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('keep-red', { tier: 'api' }, { color: 'red' }),
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('keep-bluex', {}, { color: 'blue' }),
    });
    await core.deleteNamespacedConfigMap({ name: 'f-db', namespace: ns });
    const names = (e: string): string[] =>
      events('filtered', e)
        .map((r) => data(r).body.metadata.name)
        .sort();
    await waitFor(
      () =>
        names('labels').includes('keep-red') &&
        names('fields').includes('keep-red') &&
        names('prefix').length === 2 &&
        names('deletes').length === 1,
      { what: 'filtered events' },
    );
    assert.deepEqual(names('labels'), ['f-web', 'keep-red']);
    assert.deepEqual(names('fields'), ['f-db', 'keep-red']);
    assert.deepEqual(names('prefix'), ['keep-bluex', 'keep-red']);
    assert.deepEqual(names('deletes'), ['f-db']);
    assert.ok(events('filtered', 'deletes').every((r) => data(r).type === 'DELETE'));
    assert.equal(
      runner.informer('default/filtered:invalid'),
      undefined,
      'an invalid selector is not watched',
    );
    assert.equal(events('filtered', 'invalid').length, 0);
    assert.deepEqual(
      Object.keys(events('filtered', 'prefix')[0]!.data as object),
      ['type', 'body', 'oldBody', 'group', 'version', 'resource'],
      'no metadata key when none is configured',
    );
  });

  it('builds label selectors as Kubernetes does and rejects invalid ones', () => {
    assert.equal(
      labelSelector([
        { key: 'b', operation: 'in', value: 'y,x' },
        { key: 'a', value: '1' },
        { key: 'c', operation: 'exists' },
        { key: 'd', operation: '!' },
        { key: 'e', operation: 'gt', value: '3' },
        { key: 'f', operation: '!=', value: '' },
      ]),
      'a=1,b in (x,y),c,!d,e>3,f!=',
    );
    assert.throws(
      () => labelSelector([{ key: 'a', operation: 'exists', value: 'x' }]),
      /takes no value/,
    );
    assert.throws(() => labelSelector([{ key: 'a', operation: 'gt', value: 'x' }]), /integer/);
    assert.throws(
      () => labelSelector([{ key: 'a', operation: 'like' as never, value: 'x' }]),
      /unknown operation/,
    );
    assert.throws(() => labelSelector([{ key: 'bad key', value: 'x' }]), /label key/);
  });

  it('afterStart and createdBy: afterStart ignores objects that existed before the source started; an unchanged re-list is no event', async () => {
    const before = await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('pre-existing'),
    });
    const createdAt = new Date(before.metadata!.creationTimestamp!).getTime();
    // Timestamps have second precision: start in a later second than the object's creation.
    await waitFor(() => Date.now() >= createdAt + 1000, {
      what: 'the next second',
      intervalMs: 50,
    });
    store.put(
      eventSource('late', {
        resource: {
          fresh: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD', 'UPDATE'],
            filter: { afterStart: true },
          },
          everything: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD', 'UPDATE'],
          },
          createdby: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD', 'UPDATE'],
            filter: { createdBy: new Date(createdAt).toISOString() },
          },
        },
      }),
    );
    const runner = runners[0] ?? (await newRunner());
    await waitFor(
      () =>
        ['fresh', 'everything', 'createdby'].every(
          (e) => runner.informer(`default/late:${e}`)?.hasSynced === true,
        ),
      { what: 'informers synced' },
    );
    const names = (e: string): string[] =>
      events('late', e).map((r) => `${data(r).type}:${data(r).body.metadata.name}`);
    const existing = (await core.listNamespacedConfigMap({ namespace: ns })).items.length;
    await waitFor(() => events('late', 'everything').length === existing, {
      what: 'the initial list reported',
    });
    assert.ok(
      names('everything').includes('ADD:pre-existing'),
      'without afterStart the initial list reports existing objects',
    );
    assert.equal(names('fresh').length, 0);
    const both = (): number => events('late', 'fresh').length + events('late', 'everything').length;
    const countBefore = both();
    await runner.informer('default/late:fresh')!.relist();
    await runner.informer('default/late:everything')!.relist();
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('post-start') });
    await core.patchNamespacedConfigMap(
      { name: 'pre-existing', namespace: ns, body: { data: { changed: 'yes' } } },
      MERGE_PATCH,
    );
    await waitFor(
      () =>
        names('fresh').includes('ADD:post-start') &&
        names('fresh').includes('UPDATE:pre-existing') &&
        names('everything').includes('UPDATE:pre-existing') &&
        names('createdby').includes('UPDATE:pre-existing'),
      { what: 'events after start' },
    );
    assert.ok(
      names('createdby').includes('ADD:pre-existing'),
      'createdBy keeps objects created at or before it',
    );
    assert.ok(
      !names('createdby').includes('ADD:post-start'),
      'createdBy drops objects created after it',
    );
    assert.ok(!names('fresh').includes('ADD:pre-existing'));
    assert.equal(
      names('everything').filter((n) => n === 'ADD:pre-existing').length,
      1,
      'the re-list reported nothing unchanged',
    );
    assert.equal(both() - countBefore, 4, 'only the two changes, each for both events');
  });

  it('a new owner re-lists and reports already-reported states under the same ids', async () => {
    store.put(
      eventSource('handover', {
        resource: {
          cm: {
            namespace: ns,
            version: 'v1',
            resource: 'configmaps',
            eventTypes: ['ADD'],
            filter: { prefix: 'ho-' },
          },
        },
      }),
    );
    const first = runners[0] ?? (await newRunner());
    await waitFor(() => first.informer('default/handover:cm')?.hasSynced === true, {
      what: 'informer synced',
    });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('ho-a') });
    await waitFor(() => events('handover', 'cm').length === 1, { what: 'ADD of ho-a' });
    await first.stop();
    runners.splice(runners.indexOf(first), 1);
    const second = await newRunner();
    await waitFor(
      () =>
        second.informer('default/handover:cm')?.hasSynced === true &&
        events('handover', 'cm').length === 2,
      { what: 'the new owner re-listed' },
    );
    const [a, b] = events('handover', 'cm') as [Received, Received];
    assert.equal(a.event.id, b.event.id);
  });

  it('watches a custom resource (argoproj.io Sensors) cluster-wide', async () => {
    const ns2 = await kube.namespace('resource-crd');
    store.put(
      eventSource('sensors', {
        resource: {
          s: {
            group: 'argoproj.io',
            version: 'v1alpha1',
            resource: 'sensors',
            eventTypes: ['ADD', 'DELETE'],
            filter: { prefix: 'watched-' },
          },
        },
      }),
    );
    const runner = runners[0] ?? (await newRunner());
    await waitFor(() => runner.informer('default/sensors:s')?.hasSynced === true, {
      what: 'informer synced',
    });
    const body = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name: 'watched-1' },
      spec: {
        dependencies: [{ name: 'd', eventSourceName: 'e', eventName: 'x' }],
        triggers: [{ template: { name: 't', log: {} } }],
      },
    };
    for (const n of [ns, ns2])
      await custom.createNamespacedCustomObject({
        group: 'argoproj.io',
        version: 'v1alpha1',
        namespace: n,
        plural: 'sensors',
        body,
      });
    await custom.deleteNamespacedCustomObject({
      group: 'argoproj.io',
      version: 'v1alpha1',
      namespace: ns2,
      plural: 'sensors',
      name: 'watched-1',
    });
    const seen = (): string[] =>
      events('sensors', 's').map((r) => `${data(r).type}:${data(r).body.metadata.namespace}`);
    await waitFor(() => seen().length === 3, { what: 'sensor events' });
    assert.deepEqual(seen().sort(), [`ADD:${ns}`, `ADD:${ns2}`, `DELETE:${ns2}`].sort());
    const add = events('sensors', 's')[0]!;
    assert.equal(data(add).group, 'argoproj.io');
    assert.equal(data(add).body.kind, 'Sensor');
    assert.equal(data(add).body.apiVersion, 'argoproj.io/v1alpha1');
  });
});
