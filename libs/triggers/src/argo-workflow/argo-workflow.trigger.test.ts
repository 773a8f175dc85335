import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifests, type ArgoWorkflowTrigger, type Sensor, type Trigger } from '@ganglion/api';
import { kubeApiServer, REPO_ROOT, waitFor, type KubeApiServer } from '@ganglion/testing';
import { context, event, RecordingServer } from '../fixtures/trigger.fixtures.js';
import { KubeAccess } from '../common/kube.objects.js';
import { KubeRest, type KubeObject } from '@ganglion/k8s';
import { ACTION_ID_ANNOTATION, deterministicName } from '../common/kube.objects.js';
import { createArgoWorkflowTrigger, parseArgs } from './argo-workflow.trigger.js';

const GV = 'argoproj.io/v1alpha1';
type Spec = Record<string, unknown>;

/** The argoWorkflow trigger against a real kube-apiserver with Argo Workflows' CRDs (no controller runs). */
describe('argoWorkflow trigger against a real API server with the Argo Workflows CRDs', () => {
  let kube: KubeApiServer;
  let rest: KubeRest;
  let ns: string;
  const argoServer = new RecordingServer();
  let plugin: ReturnType<typeof createArgoWorkflowTrigger>;
  let noServer: ReturnType<typeof createArgoWorkflowTrigger>;
  const events = { dep: event({ message: 'from the event' }) };
  const trig = (t: ArgoWorkflowTrigger): Trigger =>
    ({ template: { name: 'wf', argoWorkflow: t } }) as Trigger;
  const ctxFor = (actionId = randomBytes(16).toString('hex')) =>
    context({ namespace: ns, sensorName: 'ci', triggerName: 'wf', actionId });
  const workflow = (
    name: string,
    spec: Spec = {},
    extra: Partial<KubeObject> = {},
  ): KubeObject => ({
    apiVersion: GV,
    kind: 'Workflow',
    metadata: { name, ...(extra.metadata ?? {}) },
    spec: { entrypoint: 'main', ...spec },
    ...(extra.status ? { status: extra.status } : {}),
  });
  const create = (obj: KubeObject, plural = 'workflows') =>
    rest.request<KubeObject>('POST', `/apis/${GV}/namespaces/${ns}/${plural}`, obj);
  const getWf = (name: string) => rest.get(GV, 'Workflow', ns, name);
  const act = (operation: ArgoWorkflowTrigger['operation'], name: string, args?: string[]) => {
    const t: ArgoWorkflowTrigger = {
      operation: operation!,
      source: { resource: { apiVersion: GV, kind: 'Workflow', metadata: { name } } },
      ...(args ? { args } : {}),
    };
    return plugin.execute(t, trig(t), events, ctxFor());
  };

  before(async () => {
    kube = await kubeApiServer();
    await kube.installArgoWorkflowsCrds();
    ns = await kube.namespace('argo-wf-trigger');
    rest = new KubeRest(kube.adminConfig());
    await argoServer.start((call, res) => {
      const m = /^\/api\/v1\/workflows\/([^/]+)\/([^/]+)\/(retry|resubmit)$/.exec(call.url);
      if (call.method !== 'PUT' || !m)
        return void res
          .writeHead(404, { 'Content-Type': 'application/json' })
          .end('{"code":5,"message":"not found"}');
      if (call.headers['authorization'] !== 'Bearer argo-token')
        return void res
          .writeHead(401, { 'Content-Type': 'application/json' })
          .end('{"code":16,"message":"token not valid"}');
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          metadata: { name: m[3] === 'retry' ? m[2] : `${m[2]}-xyz12`, namespace: m[1] },
        }),
      );
    });
    const kubeAccess = new KubeAccess(() => kube.adminConfig());
    plugin = createArgoWorkflowTrigger({
      kube: kubeAccess,
      argoServer: { url: argoServer.url, token: 'argo-token' },
    });
    noServer = createArgoWorkflowTrigger({ kube: kubeAccess });
  });
  after(async () => {
    await plugin.close?.();
    await noServer.close?.();
    await argoServer.stop();
  });

  it('submit creates the Workflow (accepted by the server) with Argo labels, parameters and a name from the action id; a re-run creates it once', async () => {
    const ctx = ctxFor();
    const t: ArgoWorkflowTrigger = {
      source: {
        inline: `apiVersion: ${GV}\nkind: Workflow\nmetadata:\n  generateName: hello-\nspec:\n  entrypoint: main\n  arguments:\n    parameters:\n      - name: message\n        value: placeholder\n  templates:\n    - name: main\n      container:\n        image: busybox\n`,
      },
      parameters: [
        {
          src: { dependencyName: 'dep', dataKey: 'message' },
          dest: 'spec.arguments.parameters.0.value',
        },
      ],
      args: ['-p', 'extra=1'],
    };
    const first = await plugin.execute(t, trig(t), events, ctx);
    assert.equal(first.ok, true, JSON.stringify(first));
    const second = await plugin.execute(t, trig(t), events, ctx);
    assert.equal(second.ok, true, JSON.stringify(second));
    const name = deterministicName('hello-', ctx.actionId);
    const wf = await getWf(name);
    assert.deepEqual((wf['spec'] as { arguments: unknown }).arguments, {
      parameters: [
        { name: 'message', value: 'from the event' },
        { name: 'extra', value: '1' },
      ],
    });
    assert.equal(wf.metadata!.labels!['events.argoproj.io/sensor'], 'ci');
    assert.equal(wf.metadata!.labels!['events.argoproj.io/trigger'], 'wf');
    assert.match(wf.metadata!.labels!['events.argoproj.io/action-timestamp']!, /^\d+$/);
    assert.equal(wf.metadata!.annotations![ACTION_ID_ANNOTATION], ctx.actionId);
    const list = await rest.request<{ items: KubeObject[] }>(
      'GET',
      `/apis/${GV}/namespaces/${ns}/workflows`,
    );
    assert.equal(list.items.filter((w) => w.metadata!.name!.startsWith('hello-')).length, 1);
  });

  it('submit-from a WorkflowTemplate creates a Workflow with workflowTemplateRef, as argo submit --from does', async () => {
    await create(
      {
        apiVersion: GV,
        kind: 'WorkflowTemplate',
        metadata: { name: 'build' },
        spec: { entrypoint: 'main', templates: [{ name: 'main' }] },
      },
      'workflowtemplates',
    );
    const ctx = ctxFor();
    const t: ArgoWorkflowTrigger = {
      operation: 'submit-from',
      source: {
        resource: { apiVersion: GV, kind: 'WorkflowTemplate', metadata: { name: 'build' } },
      },
      args: ['--parameter=ref=main'],
    };
    const r = await plugin.execute(t, trig(t), events, ctx);
    assert.equal(r.ok, true, JSON.stringify(r));
    const wf = await getWf(deterministicName('build-', ctx.actionId));
    assert.deepEqual((wf['spec'] as Spec)['workflowTemplateRef'], { name: 'build' });
    assert.deepEqual((wf['spec'] as Spec)['arguments'], {
      parameters: [{ name: 'ref', value: 'main' }],
    });
    assert.equal(wf.metadata!.labels!['workflows.argoproj.io/workflow-template'], 'build');
    assert.equal(wf.metadata!.labels!['events.argoproj.io/sensor'], 'ci');

    const missing: ArgoWorkflowTrigger = {
      operation: 'submit-from',
      source: {
        resource: { apiVersion: GV, kind: 'WorkflowTemplate', metadata: { name: 'absent' } },
      },
    };
    const m = await plugin.execute(missing, trig(missing), events, ctxFor());
    assert.equal(m.ok, false);
    assert.match(!m.ok ? m.error : '', /WorkflowTemplate absent does not exist/);
  });

  it('submit-from a CronWorkflow copies its workflowSpec, cron label and owner reference', async () => {
    const cron = await create(
      {
        apiVersion: GV,
        kind: 'CronWorkflow',
        metadata: { name: 'nightly' },
        spec: {
          schedule: '0 0 * * *',
          workflowSpec: { entrypoint: 'night', templates: [{ name: 'night' }] },
          workflowMetadata: { labels: { team: 'ops' } },
        },
      },
      'cronworkflows',
    );
    const ctx = ctxFor();
    const t: ArgoWorkflowTrigger = {
      operation: 'submit-from',
      source: { resource: { apiVersion: GV, kind: 'CronWorkflow', metadata: { name: 'nightly' } } },
    };
    const r = await plugin.execute(t, trig(t), events, ctx);
    assert.equal(r.ok, true, JSON.stringify(r));
    const wf = await getWf(deterministicName('nightly-', ctx.actionId));
    assert.equal((wf['spec'] as Spec)['entrypoint'], 'night');
    assert.equal(wf.metadata!.labels!['workflows.argoproj.io/cron-workflow'], 'nightly');
    assert.equal(wf.metadata!.labels!['team'], 'ops');
    assert.deepEqual(
      (wf.metadata!['ownerReferences'] as { uid: string; kind: string }[]).map((o) => [
        o.kind,
        o.uid,
      ]),
      [['CronWorkflow', cron.metadata!['uid']]],
    );
  });

  it('suspend, resume, terminate and stop change spec.suspend / spec.shutdown as Argo does', async () => {
    await create(
      workflow(
        'running',
        {},
        {
          status: {
            phase: 'Running',
            nodes: {
              'running-1': { type: 'Suspend', phase: 'Running' },
              'running-2': { type: 'Pod', phase: 'Running' },
            },
          },
        },
      ),
    );
    assert.equal((await act('suspend', 'running')).ok, true);
    assert.equal(((await getWf('running'))['spec'] as Spec)['suspend'], true);

    const resumed = await act('resume', 'running');
    assert.equal(resumed.ok, true, JSON.stringify(resumed));
    const wf = await getWf('running');
    assert.equal((wf['spec'] as Spec)['suspend'], undefined);
    const nodes = (
      wf['status'] as { nodes: Record<string, { phase: string; finishedAt?: string }> }
    ).nodes;
    assert.equal(nodes['running-1']!.phase, 'Succeeded');
    assert.ok(nodes['running-1']!.finishedAt);
    assert.equal(nodes['running-2']!.phase, 'Running');

    assert.equal((await act('stop', 'running')).ok, true);
    assert.equal(((await getWf('running'))['spec'] as Spec)['shutdown'], 'Stop');
    assert.equal((await act('terminate', 'running')).ok, true);
    assert.equal(((await getWf('running'))['spec'] as Spec)['shutdown'], 'Terminate');

    await create(
      workflow(
        'finished',
        {},
        {
          metadata: { labels: { 'workflows.argoproj.io/completed': 'true' } },
          status: { phase: 'Succeeded' },
        },
      ),
    );
    const t = await act('terminate', 'finished');
    assert.equal(t.ok, false);
    assert.match(!t.ok ? t.error : '', /cannot terminate a completed workflow/);
    const missing = await act('suspend', 'no-such-workflow');
    assert.equal(missing.ok, false);
  });

  it('resubmit creates a new Workflow from the old one (spec, user labels, resubmitted-from label), once per action', async () => {
    await create(
      workflow(
        'old',
        { shutdown: 'Terminate', activeDeadlineSeconds: 0 },
        {
          metadata: {
            labels: {
              team: 'ci',
              'workflows.argoproj.io/completed': 'true',
              'workflows.argoproj.io/phase': 'Failed',
            },
          },
          status: { phase: 'Failed' },
        },
      ),
    );
    const ctx = ctxFor();
    const t: ArgoWorkflowTrigger = {
      operation: 'resubmit',
      source: { resource: { apiVersion: GV, kind: 'Workflow', metadata: { name: 'old' } } },
    };
    assert.equal((await plugin.execute(t, trig(t), events, ctx)).ok, true);
    assert.equal((await plugin.execute(t, trig(t), events, ctx)).ok, true);
    const wf = await getWf(deterministicName('old-', ctx.actionId));
    const labels = wf.metadata!.labels!;
    assert.equal(labels['team'], 'ci');
    assert.equal(labels['workflows.argoproj.io/resubmitted-from-workflow'], 'old');
    assert.equal(labels['workflows.argoproj.io/completed'], undefined);
    assert.equal(labels['workflows.argoproj.io/phase'], undefined);
    assert.deepEqual(wf['spec'], { entrypoint: 'main' });
    const list = await rest.request<{ items: KubeObject[] }>(
      'GET',
      `/apis/${GV}/namespaces/${ns}/workflows`,
    );
    assert.equal(
      list.items.filter(
        (w) => w.metadata!.labels?.['workflows.argoproj.io/resubmitted-from-workflow'] === 'old',
      ).length,
      1,
    );
  });

  it('retry and resubmit --memoized go to the Argo Server HTTP API; without one they fail, saying so', async () => {
    const r = await act('retry', 'old', [
      '--restart-successful',
      '--node-field-selector',
      'phase=Failed',
    ]);
    assert.equal(r.ok, true, JSON.stringify(r));
    const call = argoServer.calls.at(-1)!;
    assert.equal(call.url, `/api/v1/workflows/${ns}/old/retry`);
    assert.deepEqual(call.json, {
      name: 'old',
      namespace: ns,
      restartSuccessful: true,
      nodeFieldSelector: 'phase=Failed',
    });
    const m = await act('resubmit', 'old', ['--memoized']);
    assert.equal(m.ok, true, JSON.stringify(m));
    assert.deepEqual(argoServer.calls.at(-1)!.json, { name: 'old', namespace: ns, memoized: true });

    const t: ArgoWorkflowTrigger = {
      operation: 'retry',
      source: { resource: { apiVersion: GV, kind: 'Workflow', metadata: { name: 'old' } } },
    };
    const without = await noServer.execute(t, trig(t), events, ctxFor());
    assert.equal(without.ok, false);
    assert.equal(!without.ok && without.retryable, false);
    assert.match(!without.ok ? without.error : '', /needs the Argo Server HTTP API/);
  });

  it('parses the argo CLI arguments it supports and rejects the others', () => {
    assert.deepEqual(parseArgs(['-p', 'a=1', '--parameter=b=2=3', '--memoized']), {
      parameters: [
        { name: 'a', value: '1' },
        { name: 'b', value: '2=3' },
      ],
      memoized: true,
      restartSuccessful: false,
    });
    assert.throws(() => parseArgs(['--serviceaccount', 'x']), /not supported/);
  });

  it("its docs page's (README.md) example Sensor runs as written", async () => {
    await create(
      {
        apiVersion: GV,
        kind: 'WorkflowTemplate',
        metadata: { name: 'deploy' },
        spec: {
          entrypoint: 'main',
          arguments: { parameters: [{ name: 'env' }] },
          templates: [{ name: 'main' }],
        },
      },
      'workflowtemplates',
    );
    const text = readFileSync(
      join(REPO_ROOT, 'libs', 'triggers', 'src', 'argo-workflow', 'README.md'),
      'utf8',
    );
    const sensor = parseManifests(/```yaml\n([\s\S]*?)```/.exec(text)![1]!)[0]!.resource as Sensor;
    const push = { push: event({ body: { revision: 'abc123' } }) };
    const ctx = ctxFor();
    for (const t of sensor.spec.triggers) {
      const r = await plugin.execute(t.template.argoWorkflow!, t, push, {
        ...ctx,
        triggerName: t.template.name,
      });
      assert.equal(r.ok, true, JSON.stringify(r));
    }
    const build = await getWf(deterministicName('build-', ctx.actionId));
    assert.deepEqual((build['spec'] as { arguments: unknown }).arguments, {
      parameters: [{ name: 'revision', value: 'abc123' }],
    });
    assert.equal(build.metadata!.labels!['events.argoproj.io/trigger'], 'build');
    const deploy = await getWf(deterministicName('deploy-', ctx.actionId));
    assert.deepEqual((deploy['spec'] as Spec)['workflowTemplateRef'], { name: 'deploy' });
    assert.deepEqual((deploy['spec'] as Spec)['arguments'], {
      parameters: [{ name: 'env', value: 'prod' }],
    });
  });

  it('policy.k8s waits on the submitted Workflow until the controller labels it completed', async () => {
    const ctx = ctxFor();
    const t: ArgoWorkflowTrigger = { source: { resource: workflow('', {}, {}) } };
    (t.source.resource as KubeObject).metadata = { generateName: 'waited-' };
    const policy = {
      k8s: {
        labels: { 'workflows.argoproj.io/completed': 'true' },
        backoff: { duration: '50ms', factor: 1, steps: 200 },
        errorOnBackoffTimeout: true,
      },
    };
    const running = plugin.execute(t, { ...trig(t), policy } as Trigger, events, ctx);
    const name = deterministicName('waited-', ctx.actionId);
    await waitFor(async () => (await rest.find(GV, 'Workflow', ns, name)) !== undefined, {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: 'the submitted Workflow',
    });
    await rest.request(
      'PATCH',
      `/apis/${GV}/namespaces/${ns}/workflows/${name}`,
      { metadata: { labels: { 'workflows.argoproj.io/completed': 'true' } } },
      'application/merge-patch+json',
    );
    const r = await running;
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.match(r.ok ? r.detail : '', /labels matched/);
  });
});
