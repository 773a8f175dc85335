import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyResource, EventBus, Sensor, Trigger } from '@ganglion/api';
import {
  actionId,
  triggerKey,
  type ActionRecord,
  type EventsByDependency,
  type OutcomeRecord,
} from '@ganglion/core';
import {
  BusClients,
  busTopicConfigs,
  busTopics,
  createKafka,
  ensureTopics,
  TopicReader,
  type Kafka,
} from '@ganglion/eventbus';
import { KubeRest, LocalSecretResolver, loadKubeConfig } from '@ganglion/k8s';
import { createLogger } from '@ganglion/telemetry';
import {
  kafkaBrokers,
  kubeApiServer,
  uniquePrefix,
  waitFor,
  type KubeApiServer,
} from '@ganglion/testing';
import { TriggerRunner } from './trigger.runner.js';

type ActionOutcome = Extract<OutcomeRecord, { kind: 'action' }>;

/**
 * The k8s trigger acts as the Sensor's `spec.template.serviceAccountName` (impersonation), on a
 * real broker and a real RBAC API server: the trigger service's own user may only impersonate;
 * a Sensor whose account may create ConfigMaps creates one, a Sensor without an account (its
 * namespace's `default`) or with an account that may not is denied by the API server.
 */
describe('k8s trigger by impersonation of the Sensor service account', { timeout: 240_000 }, () => {
  const logger = createLogger('impersonation-test', { level: 'error' });
  const prefix = uniquePrefix('imperson');
  const topics = busTopics(`${prefix}-bus`);
  const outcomes: ActionOutcome[] = [];
  const resources: AnyResource[] = [];
  let kube: KubeApiServer;
  let ns = '';
  let kafka: Kafka;
  let clients: BusClients | undefined;
  let reader: TopicReader | undefined;
  let runner: TriggerRunner | undefined;
  let serviceKubeconfig = '';

  const configMapTrigger = (name: string): Trigger =>
    ({
      template: {
        name,
        k8s: {
          operation: 'create',
          source: {
            resource: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { generateName: `${name}-`, namespace: ns },
              data: { by: name },
            },
          },
        },
      },
    }) as Trigger;
  const sensor = (name: string, serviceAccountName?: string): Sensor =>
    ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name, namespace: ns, generation: 1 },
      spec: {
        ...(serviceAccountName ? { template: { serviceAccountName } } : {}),
        dependencies: [{ name: 'd', eventSourceName: 'es', eventName: 'e' }],
        triggers: [configMapTrigger('cm')],
      },
    }) as Sensor;
  const send = async (sensorName: string): Promise<string> => {
    const events = {
      d: {
        context: {
          id: `${sensorName}-1`,
          source: 'es',
          subject: 'e',
          type: 't',
          specversion: '1.0',
        },
        data: {},
      },
    } as unknown as EventsByDependency;
    const key = triggerKey(ns, sensorName, 'cm');
    const action: ActionRecord = {
      v: 1,
      actionId: actionId(key, events),
      namespace: ns,
      sensor: sensorName,
      trigger: configMapTrigger('cm'),
      generation: 1,
      // A record claiming an identity is ignored: the identity comes from the Sensor.
      runAs: `system:serviceaccount:${ns}:deployer`,
      events,
      createdAt: new Date().toISOString(),
    };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: topics.actions,
      messages: [{ key, value: JSON.stringify(action) }],
    });
    await producer.disconnect();
    return action.actionId;
  };

  before(async () => {
    kube = await kubeApiServer();
    ns = await kube.namespace('imperson');
    // The trigger service's own user may impersonate the namespace's service accounts, nothing else.
    serviceKubeconfig = kube.userKubeconfig(`${prefix}-trigger-service`);
    const manifests = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: ns } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'impersonate', namespace: ns },
        rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'trigger-service', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'impersonate' },
        subjects: [{ kind: 'User', name: `${prefix}-trigger-service` }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'configmaps', namespace: ns },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'deployer', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
      },
    ];
    const applied = kube.kubectl(['apply', '-f', '-'], {
      stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
    });
    assert.equal(applied.status, 0, applied.stderr);

    const brokers = await kafkaBrokers();
    kafka = createKafka({ brokers: brokers.split(','), clientId: 'impersonation-test', logger });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, busTopicConfigs(topics, { partitions: 1, replicationFactor: 1 }));
    await admin.disconnect();
    reader = new TopicReader({
      kafka,
      topics: [topics.outcomes],
      logger,
      onRecord: (_t, _p, m) => void outcomes.push(JSON.parse(m.value!.toString()) as ActionOutcome),
    });
    await reader.start();
    resources.push(
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'EventBus',
        metadata: { name: 'default', namespace: ns },
        spec: { kafka: { url: brokers, topic: topics.events } },
      } as EventBus,
      sensor('allowed', 'deployer'),
      sensor('readonly', 'reader'),
      sensor('anonymous'),
    );
    clients = new BusClients({ brokers: brokers.split(','), clientId: 'imperson', logger });
    runner = new TriggerRunner({
      clients,
      store: {
        get: <T extends AnyResource>(kind: T['kind'], namespace: string, name: string) =>
          resources.find(
            (r) =>
              r.kind === kind && r.metadata.namespace === namespace && r.metadata.name === name,
          ) as T | undefined,
        list: <T extends AnyResource>(kind: T['kind']) =>
          resources.filter((r) => r.kind === kind) as T[],
        onChange: () => () => undefined,
      },
      logger,
      secrets: new LocalSecretResolver(undefined, {}),
      settings: {
        concurrencyPerTrigger: 4,
        maxBuffered: 100,
        maxBufferedPerTrigger: 10,
        slackApiUrl: undefined,
        lambdaEndpoint: undefined,
        kubeconfig: serviceKubeconfig,
        argoServerUrl: undefined,
        argoServerToken: undefined,
        argoServerInsecure: false,
        impersonate: true,
      },
    });
    await runner.start();
  });

  after(async () => {
    await runner?.stop();
    await clients?.close();
    await reader?.stop();
  });

  it('the service user alone may create nothing; an impersonated account gets exactly its grants (SelfSubjectAccessReview)', async () => {
    const config = loadKubeConfig(serviceKubeconfig);
    const review = async (as: string | undefined): Promise<boolean> => {
      const r = await new KubeRest(config, as).request<{ status: { allowed: boolean } }>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace: ns, verb: 'create', resource: 'configmaps' } },
        },
      );
      return r.status.allowed;
    };
    assert.equal(await review(undefined), false, 'the trigger service itself');
    assert.equal(await review(`system:serviceaccount:${ns}:deployer`), true);
    assert.equal(await review(`system:serviceaccount:${ns}:reader`), false);
    assert.equal(await review(`system:serviceaccount:${ns}:default`), false);
  });

  it("runs each Sensor's k8s trigger as its service account: allowed creates, the others are denied", async () => {
    const ids = {
      allowed: await send('allowed'),
      readonly: await send('readonly'),
      anonymous: await send('anonymous'),
    };
    const of = (id: string) => outcomes.find((o) => o.actionId === id);
    await waitFor(() => Object.values(ids).every(of), {
      timeoutMs: 90_000,
      what: 'three outcomes',
    });
    assert.equal(of(ids.allowed)!.status, 'succeeded', of(ids.allowed)!.detail);
    for (const [who, account] of [
      ['readonly', 'reader'],
      ['anonymous', 'default'],
    ] as const) {
      const o = of(ids[who])!;
      assert.equal(o.status, 'failed', who);
      assert.match(o.detail, /403|forbidden/i, who);
      assert.ok(o.detail.includes(`system:serviceaccount:${ns}:${account}`), o.detail);
    }
    const created = kube
      .writes()
      .filter(
        (w) =>
          w.verb === 'create' &&
          w.objectRef?.namespace === ns &&
          w.objectRef?.resource === 'configmaps' &&
          w.responseStatus?.code === 201,
      );
    assert.equal(created.length, 1);
    assert.equal(created[0]!.user.username, `${prefix}-trigger-service`);
    assert.equal(created[0]!.impersonatedUser?.username, `system:serviceaccount:${ns}:deployer`);
  });
});
