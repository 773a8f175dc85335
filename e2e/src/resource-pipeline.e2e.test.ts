import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  freePort,
  kafkaBrokers,
  kubeApiServer,
  ServiceProcess,
  uniquePrefix,
  waitFor,
  type KubeApiServer,
} from '@ganglion/testing';
import { eventBusYaml, manifestDir, Stack, TargetServer } from './harness.js';

/**
 * ingress-resource as its own process beside the core stack, watching a real kube-apiserver: a
 * ConfigMap update (Argo's `{type, body, oldBody, ...}`) passes the sensor's data filter and fires
 * an http trigger whose payload takes the new and the old value; the ADD is filtered out.
 */
describe('resource ingress service → sensor → trigger', { timeout: 300_000 }, () => {
  let stack: Stack;
  let target: TargetServer;
  let kube: KubeApiServer;
  let ns = '';
  let ingress: ServiceProcess;

  before(async () => {
    const brokers = await kafkaBrokers();
    kube = await kubeApiServer();
    ns = await kube.namespace('e2e-resource');
    target = await new TargetServer().start();
    const prefix = uniquePrefix('res');
    const dir = manifestDir({
      'eventbus.yaml': eventBusYaml(`${prefix}-bus`),
      'source.yaml': `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: k8s}
spec:
  resource:
    settings:
      namespace: ${ns}
      version: v1
      resource: configmaps
      eventTypes: [ADD, UPDATE]
      filter:
        labels: [{key: app, value: shop}]
`,
      'sensor.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: settings}
spec:
  dependencies:
    - name: cm
      eventSourceName: k8s
      eventName: settings
      filters:
        data:
          - {path: type, type: string, value: [UPDATE]}
  triggers:
    - template:
        name: on-change
        http:
          url: http://127.0.0.1:${target.port}/changed
          method: POST
          payload:
            - {src: {dependencyName: cm, dataKey: type}, dest: type}
            - {src: {dependencyName: cm, dataKey: body.metadata.name}, dest: name}
            - {src: {dependencyName: cm, dataKey: body.data.color}, dest: color}
            - {src: {dependencyName: cm, dataKey: oldBody.data.color}, dest: was}
`,
    });
    stack = await new Stack(brokers, prefix, dir).start();
    ingress = new ServiceProcess('ingress-resource', {
      healthPort: await freePort(),
      env: {
        KAFKA_BROKERS: brokers,
        GANGLION_RESOURCES_TOPIC: `${prefix}-resources`,
        GANGLION_INSTANCE_ID: `${prefix}-0`,
        GANGLION_OWNERSHIP_SESSION_MS: '6000',
        GANGLION_KUBECONFIG: kube.kubeconfigPath,
      },
      ...(process.env['E2E_VERBOSE']
        ? { onLine: (l: string) => console.log(`[ingress-resource] ${l}`) }
        : {}),
    }).start();
    await ingress.ready();
    await waitFor(() => ingress.records().some((l) => l['msg'] === 'resource source watching'), {
      timeoutMs: 60_000,
      what: 'ingress-resource to own the type and list',
    });
  });

  after(async () => {
    await ingress?.stop();
    await stack?.stop();
    await target?.stop();
  });

  it('a labelled ConfigMap update fires the trigger with the new and old values', async () => {
    const kubectl = (...args: string[]): void => {
      const r = kube.kubectl(['-n', ns, ...args]);
      assert.equal(r.status, 0, r.stderr);
    };
    kubectl('create', 'configmap', 'unlabelled', '--from-literal=color=green');
    kubectl('create', 'configmap', 'shop-settings', '--from-literal=color=red');
    kubectl('label', 'configmap', 'shop-settings', 'app=shop');
    kubectl(
      'patch',
      'configmap',
      'shop-settings',
      '--type',
      'merge',
      '-p',
      '{"data":{"color":"blue"}}',
    );
    kubectl(
      'patch',
      'configmap',
      'unlabelled',
      '--type',
      'merge',
      '-p',
      '{"data":{"color":"blue"}}',
    );
    const call = await waitFor(
      () => target.calls.find((c) => (c.body as { color?: string }).color === 'blue'),
      { timeoutMs: 60_000, what: 'the trigger for the update' },
    );
    assert.deepEqual(call.body, {
      type: 'UPDATE',
      name: 'shop-settings',
      color: 'blue',
      was: 'red',
    });
    assert.ok(
      target.calls.every((c) => (c.body as { name?: string }).name === 'shop-settings'),
      'the unlabelled ConfigMap is filtered by the label selector',
    );
  });
});
