import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseManifests, type Sensor, type StandardK8STrigger, type Trigger } from '@ganglion/api';
import { kubeApiServer, REPO_ROOT, waitFor, type KubeApiServer } from '@ganglion/testing';
import { context, event, RecordingServer, secretsDir } from '../fixtures/trigger.fixtures.js';
import { KubeAccess } from '../common/kube.objects.js';
import { loadKubeConfig } from '@ganglion/k8s';
import { KubeRest, type KubeObject } from '@ganglion/k8s';
import { ACTION_ID_ANNOTATION, deterministicName } from '../common/kube.objects.js';
import { createK8sTrigger } from './k8s.trigger.js';

/** The k8s trigger against a real kube-apiserver (objects stored, nothing runs them). */
describe('k8s trigger against a real API server', () => {
  let kube: KubeApiServer;
  let rest: KubeRest;
  let ns: string;
  const sourceServer = new RecordingServer();
  let plugin: ReturnType<typeof createK8sTrigger>;
  const events = { dep: event({ greeting: 'hello', region: 'eu' }) };
  const trig = (t: StandardK8STrigger, policy?: Trigger['policy']): Trigger =>
    ({ template: { name: 'make', k8s: t }, ...(policy ? { policy } : {}) }) as Trigger;
  const ctxFor = (actionId = randomBytes(16).toString('hex')) =>
    context({ namespace: ns, sensorName: 'orders', triggerName: 'make', actionId });

  before(async () => {
    kube = await kubeApiServer();
    ns = await kube.namespace('k8s-trigger');
    rest = new KubeRest(kube.adminConfig());
    plugin = createK8sTrigger({ kube: new KubeAccess(() => kube.adminConfig()) });
    await sourceServer.start((call, res) => {
      if (call.url === '/cm.yaml')
        return void res
          .writeHead(200, { 'Content-Type': 'application/yaml' })
          .end(
            'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-url\ndata:\n  origin: url\n',
          );
      res.writeHead(404).end();
    });
  });
  after(async () => {
    await plugin.close?.();
    await sourceServer.stop();
  });

  it('creates an object with Argo labels, parameters applied, in the sensor namespace, named from generateName and the action id', async () => {
    const ctx = ctxFor();
    const r = await plugin.execute(
      {
        source: {
          resource: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { generateName: 'greet-' },
            data: { greeting: 'placeholder' },
          },
        },
        parameters: [
          { src: { dependencyName: 'dep', dataKey: 'greeting' }, dest: 'data.greeting' },
          { src: { dependencyName: 'dep', dataKey: 'region' }, dest: 'metadata.labels.region' },
        ],
      },
      trig({ source: {} } as StandardK8STrigger),
      events,
      ctx,
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    const name = deterministicName('greet-', ctx.actionId);
    const cm = await rest.get('v1', 'ConfigMap', ns, name);
    assert.equal((cm['data'] as Record<string, string>)['greeting'], 'hello');
    const labels = cm.metadata!.labels!;
    assert.equal(labels['events.argoproj.io/sensor'], 'orders');
    assert.equal(labels['events.argoproj.io/trigger'], 'make');
    assert.match(labels['events.argoproj.io/action-timestamp']!, /^\d{13}$/);
    assert.equal(labels['region'], 'eu');
    assert.equal(cm.metadata!.annotations![ACTION_ID_ANNOTATION], ctx.actionId);
  });

  it('a re-run of the same action (crash after create) creates the object once and succeeds', async () => {
    const ctx = ctxFor();
    const t: StandardK8STrigger = {
      source: {
        inline:
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: once-\ndata:\n  a: "1"\n',
      },
    };
    const first = await plugin.execute(t, trig(t), events, ctx);
    const second = await plugin.execute(t, trig(t), events, ctx);
    assert.equal(first.ok, true, JSON.stringify(first));
    assert.equal(second.ok, true, JSON.stringify(second));
    assert.match(second.ok ? second.detail : '', /found \(created earlier by this action\)/);
    const list = await rest.request<{ items: KubeObject[] }>(
      'GET',
      `/api/v1/namespaces/${ns}/configmaps`,
    );
    assert.equal(list.items.filter((c) => c.metadata!.name!.startsWith('once-')).length, 1);
    const creates = kube
      .writes()
      .filter(
        (w) =>
          w.verb === 'create' &&
          w.objectRef?.namespace === ns &&
          w.objectRef?.name === deterministicName('once-', ctx.actionId),
      );
    assert.equal(creates.filter((w) => w.responseStatus?.code === 201).length, 1);
    // A different action whose fixed name collides is an error, not a silent success.
    const fixed: StandardK8STrigger = {
      source: {
        resource: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: deterministicName('once-', ctx.actionId) },
        },
      },
    };
    const other = await plugin.execute(fixed, trig(fixed), events, ctxFor());
    assert.equal(other.ok, false);
    assert.match(!other.ok ? other.error : '', /already exists and was not created by this action/);
  });

  it('creates a cluster-scoped kind (ClusterRole) without a namespace, found through discovery', async () => {
    const name = `ganglion-test-${randomBytes(4).toString('hex')}`;
    const t: StandardK8STrigger = {
      source: {
        resource: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name },
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
        },
      },
    };
    const r = await plugin.execute(t, trig(t), events, ctxFor());
    assert.equal(r.ok, true, JSON.stringify(r));
    const role = await rest.get('rbac.authorization.k8s.io/v1', 'ClusterRole', undefined, name);
    assert.equal(role.metadata!.namespace, undefined);
    assert.equal(role.metadata!.labels!['events.argoproj.io/sensor'], 'orders');
  });

  it('reads the object from a ConfigMap, from a URL and from a file', async () => {
    await rest.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'templates' },
      data: {
        job: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-configmap\ndata:\n  origin: configmap\n',
      },
    });
    const fromCm: StandardK8STrigger = { source: { configmap: { name: 'templates', key: 'job' } } };
    assert.equal((await plugin.execute(fromCm, trig(fromCm), events, ctxFor())).ok, true);
    assert.equal(
      ((await rest.get('v1', 'ConfigMap', ns, 'from-configmap'))['data'] as Record<string, string>)[
        'origin'
      ],
      'configmap',
    );

    const fromUrl: StandardK8STrigger = {
      source: { url: { path: `${sourceServer.url}/cm.yaml` } },
    };
    const r = await plugin.execute(fromUrl, trig(fromUrl), events, ctxFor());
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(
      ((await rest.get('v1', 'ConfigMap', ns, 'from-url'))['data'] as Record<string, string>)[
        'origin'
      ],
      'url',
    );
    const missing: StandardK8STrigger = {
      source: { url: { path: `${sourceServer.url}/missing.yaml` } },
    };
    const m = await plugin.execute(missing, trig(missing), events, ctxFor());
    assert.equal(m.ok, false);
    assert.equal(!m.ok && m.retryable, false);

    const file = join(secretsDir({}), 'cm.json');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'from-file' },
        data: { origin: 'file' },
      }),
    );
    const fromFile: StandardK8STrigger = { source: { file: { path: file } } };
    assert.equal((await plugin.execute(fromFile, trig(fromFile), events, ctxFor())).ok, true);
    assert.equal(
      ((await rest.get('v1', 'ConfigMap', ns, 'from-file'))['data'] as Record<string, string>)[
        'origin'
      ],
      'file',
    );
  });

  it('patches with each strategy: merge, json, strategic and apply', async () => {
    await rest.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'target', labels: { keep: 'yes' } },
      data: { a: '1', b: '2' },
    });
    const patch = (strategy: StandardK8STrigger['patchStrategy'], data: Record<string, string>) => {
      const t: StandardK8STrigger = {
        operation: 'patch',
        patchStrategy: strategy!,
        source: {
          resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target' }, data },
        },
      };
      return plugin.execute(t, trig(t), events, ctxFor());
    };
    const data = async () =>
      (await rest.get('v1', 'ConfigMap', ns, 'target'))['data'] as Record<string, string>;
    assert.equal((await patch('application/merge-patch+json', { a: 'merge' })).ok, true);
    assert.deepEqual(await data(), { a: 'merge', b: '2' });
    const j = await patch('application/json-patch+json', { b: 'json', c: 'new' });
    assert.equal(j.ok, true, JSON.stringify(j));
    assert.deepEqual(await data(), { a: 'merge', b: 'json', c: 'new' });
    assert.equal(
      (await patch('application/strategic-merge-patch+json', { c: 'strategic' })).ok,
      true,
    );
    assert.deepEqual(await data(), { a: 'merge', b: 'json', c: 'strategic' });
    const ap = await patch('application/apply-patch+yaml', { d: 'apply' });
    assert.equal(ap.ok, true, JSON.stringify(ap));
    assert.equal((await data())['d'], 'apply');
    const cm = await rest.get('v1', 'ConfigMap', ns, 'target');
    assert.equal(cm.metadata!.labels!['keep'], 'yes');
    assert.ok(
      (cm.metadata!['managedFields'] as { manager: string }[]).some(
        (m) => m.manager === 'ganglion-trigger',
      ),
    );
  });

  it('update merges into the live object; patch/update of a missing object creates it; delete removes and tolerates absence', async () => {
    await rest.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'upd' },
      data: { a: '1' },
    });
    const upd: StandardK8STrigger = {
      operation: 'update',
      source: {
        resource: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'upd' },
          data: { b: '2' },
        },
      },
    };
    assert.equal((await plugin.execute(upd, trig(upd), events, ctxFor())).ok, true);
    assert.deepEqual((await rest.get('v1', 'ConfigMap', ns, 'upd'))['data'], { a: '1', b: '2' });

    const missing: StandardK8STrigger = {
      operation: 'patch',
      source: {
        resource: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'was-missing' },
          data: { x: 'y' },
        },
      },
    };
    assert.equal((await plugin.execute(missing, trig(missing), events, ctxFor())).ok, true);
    assert.equal(
      (await rest.get('v1', 'ConfigMap', ns, 'was-missing')).metadata!.labels![
        'events.argoproj.io/trigger'
      ],
      'make',
    );

    const del: StandardK8STrigger = {
      operation: 'delete',
      source: { resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'upd' } } },
    };
    assert.equal((await plugin.execute(del, trig(del), events, ctxFor())).ok, true);
    assert.equal(await rest.find('v1', 'ConfigMap', ns, 'upd'), undefined);
    const again = await plugin.execute(del, trig(del), events, ctxFor());
    assert.equal(again.ok, true);
    assert.match(again.ok ? again.detail : '', /not found, nothing to delete/);
  });

  it('strategic merge patch on a custom resource fails without retry, saying why', async () => {
    await kube.installArgoWorkflowsCrds();
    await rest.request('POST', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflowtemplates`, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'WorkflowTemplate',
      metadata: { name: 'tpl' },
      spec: { entrypoint: 'main' },
    });
    const t: StandardK8STrigger = {
      operation: 'patch',
      patchStrategy: 'application/strategic-merge-patch+json',
      source: {
        resource: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'WorkflowTemplate',
          metadata: { name: 'tpl' },
          spec: { entrypoint: 'other' },
        },
      },
    };
    const r = await plugin.execute(t, trig(t), events, ctxFor());
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
    assert.match(!r.ok ? r.error : '', /strategic merge patch works only for built-in kinds/);
  });

  it('policy.k8s waits for the labels a controller sets; times out as failure only with errorOnBackoffTimeout', async () => {
    const ctx = ctxFor();
    const t: StandardK8STrigger = {
      source: {
        resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'watched-' } },
      },
    };
    const policy = {
      k8s: {
        labels: { phase: 'done' },
        backoff: { duration: '100ms', factor: 1, steps: 100 },
        errorOnBackoffTimeout: true,
      },
    };
    const name = deterministicName('watched-', ctx.actionId);
    const running = plugin.execute(t, trig(t, policy), events, ctx);
    // The "controller": label the object once it exists.
    await waitFor(async () => (await rest.find('v1', 'ConfigMap', ns, name)) !== undefined, {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: 'the watched ConfigMap',
    });
    await rest.request(
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/${name}`,
      { metadata: { labels: { phase: 'done' } } },
      'application/merge-patch+json',
    );
    const r = await running;
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.match(r.ok ? r.detail : '', /labels matched/);

    const short = {
      k8s: {
        labels: { phase: 'never' },
        backoff: { duration: '10ms', steps: 3 },
        errorOnBackoffTimeout: true,
      },
    };
    const failed = await plugin.execute(t, trig(t, short), events, ctxFor());
    assert.equal(failed.ok, false);
    assert.match(!failed.ok ? failed.error : '', /not seen within the backoff/);
    const tolerated = await plugin.execute(
      t,
      trig(t, { k8s: { ...short.k8s, errorOnBackoffTimeout: false } }),
      events,
      ctxFor(),
    );
    assert.equal(tolerated.ok, true);
  });

  it("its docs page's (README.md) example Sensor runs as written", async () => {
    const text = readFileSync(
      join(REPO_ROOT, 'libs', 'triggers', 'src', 'k8s', 'README.md'),
      'utf8',
    );
    const sensor = parseManifests(/```yaml\n([\s\S]*?)```/.exec(text)![1]!)[0]!.resource as Sensor;
    const push = { push: event({ body: { message: 'deployed' } }) };
    const ctx = ctxFor();
    for (const t of sensor.spec.triggers) {
      const r = await plugin.execute(t.template.k8s!, t, push, {
        ...ctx,
        triggerName: t.template.name,
      });
      assert.equal(r.ok, true, JSON.stringify(r));
    }
    const created = await rest.get('v1', 'ConfigMap', ns, deterministicName('push-', ctx.actionId));
    assert.equal((created['data'] as Record<string, string>)['message'], 'deployed');
    assert.equal(created.metadata!.labels!['events.argoproj.io/trigger'], 'record-push');
    assert.equal(
      ((await rest.get('v1', 'ConfigMap', ns, 'last-push'))['data'] as Record<string, string>)[
        'message'
      ],
      'deployed',
    );
  });

  it('without RBAC for the kind the action fails without retry, pointing at the grants', async () => {
    const weak = createK8sTrigger({
      kube: new KubeAccess(() => loadKubeConfig(kube.userKubeconfig('ganglion-test-no-grants'))),
    });
    try {
      const t: StandardK8STrigger = {
        source: {
          resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'denied-' } },
        },
      };
      const r = await weak.execute(t, trig(t), events, ctxFor());
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.retryable, false);
      assert.match(!r.ok ? r.error : '', /HTTP 403.*libs\/triggers\/src\/k8s\/README\.md#rbac/);
    } finally {
      await weak.close?.();
    }
  });

  it('creates a Namespace (cluster-scoped) from generateName, and liveObject applies parameters to the live object', async () => {
    const ctx = ctxFor();
    const nsT: StandardK8STrigger = {
      source: {
        resource: {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { generateName: 'ganglion-made-', namespace: 'ignored' },
        },
      },
    };
    const r = await plugin.execute(nsT, trig(nsT), events, ctx);
    assert.equal(r.ok, true, JSON.stringify(r));
    const made = await rest.get(
      'v1',
      'Namespace',
      undefined,
      deterministicName('ganglion-made-', ctx.actionId),
    );
    assert.equal(made.metadata!.labels!['events.argoproj.io/sensor'], 'orders');

    await rest.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'live' },
      data: { a: 'live-value', b: 'old' },
    });
    const t: StandardK8STrigger = {
      operation: 'update',
      liveObject: true,
      source: {
        resource: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'live' },
          data: { a: 'from-source' },
        },
      },
      parameters: [{ src: { dependencyName: 'dep', dataKey: 'greeting' }, dest: 'data.b' }],
    };
    assert.equal((await plugin.execute(t, trig(t), events, ctxFor())).ok, true);
    // The source only named the object: its data.a did not overwrite the live value.
    assert.deepEqual((await rest.get('v1', 'ConfigMap', ns, 'live'))['data'], {
      a: 'live-value',
      b: 'hello',
    });
  });
});
