import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCloudEvent, eventData } from '@ganglion/eventbus';
import {
  kafkaBrokers,
  OwnedReplicas,
  kubeApiServer,
  ServiceProcess,
  uniquePrefix,
  waitFor,
  type KubeApiServer,
} from '@ganglion/testing';
import { ingressTopics, type BusCollector } from './harness.js';

interface Seen {
  id: string;
  type: string;
  name: string;
  resourceVersion: string;
}

/**
 * Two replicas of ingress-resource as separate processes on a real broker and a real API server:
 * one runs the informers at a time; each change reaches the bus once; when the owner is killed
 * the survivor takes over, re-lists, reports what changed meanwhile, and re-reports already
 * reported object states only under their earlier ids.
 */
describe(
  'ingress-resource: two replicas, one owner, handover on SIGKILL',
  { timeout: 240_000 },
  () => {
    let kube: KubeApiServer;
    let ns = '';
    const prefix = uniquePrefix('res');
    const busTopic = `${prefix}-bus`;
    const resourcesTopic = `${prefix}-resources`;
    const seen: Seen[] = [];
    let replicas: OwnedReplicas;
    let consumer: BusCollector;

    const kubectl = (...args: string[]): void => {
      const r = kube.kubectl(['-n', ns, ...args]);
      assert.equal(r.status, 0, r.stderr);
    };

    before(async () => {
      kube = await kubeApiServer();
      ns = await kube.namespace('ingress-resource');
      const brokers = await kafkaBrokers();
      consumer = await ingressTopics({
        brokers,
        prefix,
        resourcesTopic,
        busTopic,
        busPartitions: 1,
        eventSource: {
          name: 'configmaps',
          spec: {
            resource: {
              changes: {
                namespace: ns,
                version: 'v1',
                resource: 'configmaps',
                eventTypes: ['ADD', 'UPDATE'],
              },
            },
          },
        },
        onEvent: (message) => {
          const event = decodeCloudEvent(message);
          const data = eventData(event) as {
            type: string;
            body: { metadata: { name: string; resourceVersion: string } };
          };
          assert.equal(event.type, 'resource');
          seen.push({
            id: event.id,
            type: data.type,
            name: data.body.metadata.name,
            resourceVersion: data.body.metadata.resourceVersion,
          });
        },
      });
      replicas = await new OwnedReplicas('ingress-resource', prefix, {
        KAFKA_BROKERS: brokers,
        GANGLION_RESOURCES_TOPIC: resourcesTopic,
        GANGLION_KUBECONFIG: kube.kubeconfigPath,
      }).start();
    });

    after(async () => {
      await replicas?.stop();
      await consumer?.disconnect();
    });

    const owner = (): ServiceProcess | undefined => replicas.owner();
    const of = (name: string): Seen[] => seen.filter((s) => s.name === name);

    it('one replica owns the informer; each change is published once', async () => {
      await waitFor(
        () =>
          owner()
            ?.records()
            .some((l) => l['msg'] === 'resource source watching'),
        { timeoutMs: 60_000, what: 'an owner watching' },
      );
      kubectl('create', 'configmap', 'one', '--from-literal=k=v1');
      kubectl('patch', 'configmap', 'one', '--type', 'merge', '-p', '{"data":{"k":"v2"}}');
      kubectl('create', 'configmap', 'sentinel-1');
      await waitFor(() => of('sentinel-1').length === 1 && of('one').length === 2, {
        timeoutMs: 30_000,
        what: 'ADD and UPDATE of one',
      });
      assert.deepEqual(
        of('one').map((s) => s.type),
        ['ADD', 'UPDATE'],
      );
      assert.equal(new Set(seen.map((s) => s.id)).size, seen.length);
    });

    it('hands over when the owner is killed: changes made meanwhile arrive, re-listed states keep their ids', async () => {
      const first = owner()!;
      await first.stop('SIGKILL');
      kubectl('create', 'configmap', 'two');
      const survivor = replicas.other(first);
      await waitFor(() => owner() === survivor, {
        timeoutMs: 60_000,
        what: 'the survivor to own the informers',
      });
      await waitFor(() => of('two').length >= 1, {
        timeoutMs: 30_000,
        what: 'the ADD of a ConfigMap created during the handover',
      });
      kubectl('create', 'configmap', 'sentinel-2');
      await waitFor(() => of('sentinel-2').length === 1, {
        timeoutMs: 30_000,
        what: 'events after the handover',
      });
      assert.equal(of('two').length, 1, 'created while no replica owned the type: reported once');
      // The survivor's initial list reports every existing ConfigMap as ADD (Argo's semantics); the
      // states reported before the handover come again under the same ids.
      assert.deepEqual(
        of('one').map((s) => s.type),
        ['ADD', 'UPDATE', 'ADD'],
        'the survivor re-listed',
      );
      assert.equal(
        of('one')[2]!.id,
        of('one')[1]!.id,
        'the re-listed state has the id of its UPDATE',
      );
      const states = new Map<string, Set<string>>();
      for (const s of seen) {
        const key = `${s.name}@${s.resourceVersion}`;
        states.set(key, (states.get(key) ?? new Set()).add(s.id));
      }
      for (const [state, ids] of states)
        assert.equal(ids.size, 1, `${state} reported under ${ids.size} ids`);
      assert.equal(new Set(seen.map((s) => s.id)).size, states.size);
    });
  },
);
