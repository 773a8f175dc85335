import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SOURCE_KINDS } from '@ganglion/api';
import { ensureHelm, kubeApiServer, REPO_ROOT } from '@ganglion/testing';

/** The Helm charts rendered by a real Helm 3 (built from the Go module proxy, cached). */
/** One chart per service: every folder of services/ has a chart of the same name. */
const SERVICE_CHARTS = readdirSync(join(REPO_ROOT, 'services')).sort();
/** Sources that run on one replica at a time: standbys, not autoscaled. */
const OWNED = new Set(
  Object.entries(SOURCE_KINDS)
    .filter(([, kind]) => kind === 'owned')
    .map(([type]) => `ingress-${type.toLowerCase()}`),
);

/** Sources that reach only Kafka and the API server and read no Secret. */
const SELF_CONTAINED = new Set(['ingress-calendar', 'ingress-file', 'ingress-resource']);
/** Push sources: every replica serves HTTP clients. */
const PUSH = new Set(
  Object.entries(SOURCE_KINDS)
    .filter(([, kind]) => kind === 'push')
    .map(([type]) => `ingress-${type.toLowerCase()}`),
);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

describe('Helm charts', () => {
  let helm = '';
  let dir = '';
  const run = (args: string[]): { status: number | null; out: string; err: string } => {
    const r = spawnSync(helm, args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, '.helm'),
        HELM_CONFIG_HOME: join(dir, '.helm'),
        HELM_DATA_HOME: join(dir, '.helm'),
      },
    });
    return { status: r.status, out: r.stdout, err: r.stderr };
  };
  const ok = (args: string[]): string => {
    const r = run(args);
    assert.equal(r.status, 0, `helm ${args.join(' ')} failed:\n${r.err}${r.out}`);
    return r.out;
  };
  const render = (chart: string, ...set: string[]): K8sObject[] =>
    parseAllDocuments(
      ok(['template', 'rel', chart, '--namespace', 'events', ...set.flatMap((s) => ['--set', s])]),
    )
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);

  before(() => {
    helm = ensureHelm();
    // Work on a copy: `helm dependency build` writes charts/*/charts/ next to each chart.
    dir = mkdtempSync(join(tmpdir(), 'ganglion-charts-'));
    cpSync(join(REPO_ROOT, 'charts'), dir, { recursive: true });
    for (const c of [...SERVICE_CHARTS, 'ganglion']) ok(['dependency', 'build', c]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every service has its own chart, and the umbrella chart installs each', () => {
    for (const svc of SERVICE_CHARTS)
      assert.ok(existsSync(join(REPO_ROOT, 'charts', svc, 'Chart.yaml')), `charts/${svc}`);
    const objs = render('ganglion', 'global.kafka.brokers=kafka:9092');
    const deployments = objs
      .filter((o) => o.kind === 'Deployment')
      .map((o) => o.metadata.name)
      .sort();
    assert.deepEqual(
      deployments,
      SERVICE_CHARTS.map((s) => `rel-${s}`),
    );
  });

  it('every service chart passes helm lint', () => {
    for (const c of SERVICE_CHARTS) ok(['lint', c, '--set', 'kafka.brokers=kafka:9092']);
  });

  it('the umbrella chart installs every service with the platform conventions', () => {
    const objs = render('ganglion', 'global.kafka.brokers=kafka-0:9092\\,kafka-1:9092');
    for (const svc of SERVICE_CHARTS) {
      const name = `rel-${svc}`;
      const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as
        { spec: { strategy: unknown; template: { spec: Record<string, unknown> } } } | undefined;
      assert.ok(dep, `Deployment ${name}`);
      assert.deepEqual(dep.spec.strategy, {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      const pod = dep.spec.template.spec as {
        priorityClassName: string;
        containers: {
          args: string[];
          env: { name: string; value?: string }[];
          resources: { requests?: unknown; limits?: unknown };
          ports: { name: string; containerPort: number }[];
        }[];
      };
      assert.equal(pod.priorityClassName, 'platform-events');
      const c = pod.containers[0]!;
      assert.deepEqual(c.args, [svc]);
      assert.equal(
        c.env.find((e) => e.name === 'KAFKA_BROKERS')?.value,
        svc === 'admission' ? undefined : 'kafka-0:9092,kafka-1:9092',
      );
      assert.ok(c.resources.requests && c.resources.limits, `${svc} has requests and limits`);
      assert.ok(c.ports.some((p) => p.name === 'metrics' && p.containerPort === 7777));
      // The port the service listens on (libs/nest config, services/admission config) is the container port.
      assert.equal(
        c.env.find((e) => e.name === 'GANGLION_METRICS_PORT')?.value,
        '7777',
        `${svc} GANGLION_METRICS_PORT`,
      );
      const sm = objs.find((o) => o.kind === 'ServiceMonitor' && o.metadata.name === name);
      assert.equal(sm?.metadata.labels?.['prometheus'], 'kube-prometheus');
      const service = objs.find((o) => o.kind === 'Service' && o.metadata.name === name) as
        { spec: { ports: { name: string; port: number }[] } } | undefined;
      assert.ok(service?.spec.ports.some((p) => p.name === 'metrics' && p.port === 7777));
      assert.ok(objs.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === name));
    }
  });

  it('the control plane tolerates and prefers control-plane nodes; data-plane services autoscale', () => {
    const objs = render('ganglion', 'global.kafka.brokers=kafka:9092');
    const pod = (name: string): Record<string, unknown> =>
      (
        objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as unknown as {
          spec: { template: { spec: Record<string, unknown> } };
        }
      ).spec.template.spec;
    const rec = pod('rel-reconciler') as { tolerations: { key: string }[]; affinity: unknown };
    assert.ok(rec.tolerations.some((t) => t.key === 'node-role.kubernetes.io/control-plane'));
    assert.match(JSON.stringify(rec.affinity), /node-role\.kubernetes\.io\/control-plane/);
    assert.equal((pod('rel-sensor') as { tolerations?: unknown }).tolerations, undefined);
    const hpas = objs
      .filter((o) => o.kind === 'HorizontalPodAutoscaler')
      .map((o) => o.metadata.name)
      .sort();
    const scaled = SERVICE_CHARTS.filter((s) => s.startsWith('ingress-') && !OWNED.has(s)).concat(
      'sensor',
      'trigger',
    );
    assert.deepEqual(hpas, scaled.map((s) => `rel-${s}`).sort());
    const adm = pod('rel-admission') as {
      automountServiceAccountToken: boolean;
      volumes: { name: string; secret?: { secretName: string } }[];
    };
    assert.equal(
      adm.automountServiceAccountToken,
      false,
      'the admission webhook needs no API access',
    );
    assert.equal(
      adm.volumes.find((v) => v.name === 'tls')?.secret?.secretName,
      'ganglion-admission-tls',
    );
    const vwc = objs.find((o) => o.kind === 'ValidatingWebhookConfiguration') as unknown as {
      webhooks: { clientConfig: { service: { name: string; namespace: string; port: number } } }[];
    };
    assert.deepEqual(vwc.webhooks[0]!.clientConfig.service, {
      name: 'rel-admission',
      namespace: 'events',
      path: '/validate',
      port: 8443,
    });
    const sensorDep = objs.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'rel-sensor',
    )!;
    assert.equal(
      (sensorDep.spec as { replicas?: number }).replicas,
      undefined,
      'the HPA owns the replica count',
    );
    assert.equal(
      (
        objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'rel-reconciler')!.spec as {
          replicas?: number;
        }
      ).replicas,
      2,
    );
  });

  it('a service can be turned off, and a single service chart renders on its own', () => {
    const objs = render('ganglion', 'global.kafka.brokers=kafka:9092', 'trigger.enabled=false');
    assert.equal(objs.filter((o) => o.metadata.name === 'rel-trigger').length, 0);
    const one = render(
      'sensor',
      'kafka.brokers=kafka:9092',
      'autoscaling.enabled=false',
      'replicaCount=3',
    );
    assert.equal(
      (one.find((o) => o.kind === 'Deployment')!.spec as { replicas: number }).replicas,
      3,
    );
    assert.ok(one.some((o) => o.kind === 'PodDisruptionBudget'));
  });

  it('RBAC: namespaced by default (a Role and GANGLION_NAMESPACE), cluster-wide on request, the Lease always local', () => {
    const nsd = render('ganglion', 'global.kafka.brokers=kafka:9092');
    const roles = (objs: K8sObject[], kind: string): string[] =>
      objs
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    assert.deepEqual(roles(nsd, 'ClusterRole'), []);
    // The sensor and calendar, file and resource read no Secret: they get no Role at all.
    const dataPlane = SERVICE_CHARTS.filter(
      (s) => s !== 'admission' && s !== 'reconciler' && s !== 'sensor' && !SELF_CONTAINED.has(s),
    ).map((s) => `rel-${s}`);
    assert.deepEqual(
      roles(nsd, 'Role'),
      [...dataPlane, 'rel-reconciler', 'rel-reconciler-local'].sort(),
    );
    const env = (objs: K8sObject[], name: string): { name: string; value?: string }[] =>
      (
        objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as unknown as {
          spec: {
            template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
          };
        }
      ).spec.template.spec.containers[0]!.env;
    assert.equal(
      env(nsd, 'rel-reconciler').find((e) => e.name === 'GANGLION_NAMESPACE')?.value,
      'events',
    );
    assert.equal(
      env(nsd, 'rel-trigger').find((e) => e.name === 'GANGLION_TRIGGER_IMPERSONATE')?.value,
      'true',
      "the trigger acts as the Sensors' service accounts",
    );
    // An EventBus with its own spec.kafka.tls/sasl Secrets: every service may read Secrets.
    const bus = render(
      'ganglion',
      'global.kafka.brokers=kafka:9092',
      'global.rbac.eventBusSecrets=true',
    );
    const readsSecrets = (objs: K8sObject[], name: string): boolean =>
      (
        (
          objs.find((o) => o.kind === 'Role' && o.metadata.name === name) as unknown as
            { rules: { resources: string[]; verbs: string[] }[] } | undefined
        )?.rules ?? []
      ).some((r) => r.resources.includes('secrets') && r.verbs.includes('get'));
    for (const s of ['sensor', ...SELF_CONTAINED]) {
      assert.equal(readsSecrets(nsd, `rel-${s}`), false, `${s} reads no Secret by default`);
      assert.equal(readsSecrets(bus, `rel-${s}`), true, `${s} reads the bus's Secrets on request`);
    }
    const cw = render(
      'ganglion',
      'global.kafka.brokers=kafka:9092',
      'reconciler.rbac.clusterWide=true',
    );
    assert.deepEqual(roles(cw, 'ClusterRole'), ['rel-reconciler']);
    assert.deepEqual(roles(cw, 'ClusterRoleBinding'), ['rel-reconciler']);
    assert.ok(
      roles(cw, 'Role').includes('rel-reconciler-local'),
      'the Lease Role stays namespaced',
    );
    assert.equal(
      env(cw, 'rel-reconciler').find((e) => e.name === 'GANGLION_NAMESPACE'),
      undefined,
    );
  });

  it('deploy/rbac: one ServiceAccount per service, granting exactly what its chart grants, in both install modes', () => {
    type Rule = {
      apiGroups?: string[];
      resources?: string[];
      verbs?: string[];
      resourceNames?: string[];
    };
    type Binding = {
      kind: string;
      metadata: { name: string };
      roleRef: { kind: string; name: string };
      subjects?: { kind: string; name: string }[];
    };
    // Each grant as `<Role|ClusterRole> group/resource[/name]:verb`, so rules split differently compare equal.
    const grants = (objs: K8sObject[], account: string): string[] => {
      const out = new Set<string>();
      for (const b of objs as unknown as Binding[]) {
        if (b.kind !== 'RoleBinding' && b.kind !== 'ClusterRoleBinding') continue;
        if (!b.subjects?.some((x) => x.kind === 'ServiceAccount' && x.name === account)) continue;
        const role = objs.find(
          (o) => o.kind === b.roleRef.kind && o.metadata.name === b.roleRef.name,
        ) as { rules?: Rule[] } | undefined;
        assert.ok(
          role,
          `${b.kind} ${b.metadata.name} refers to ${b.roleRef.kind} ${b.roleRef.name}`,
        );
        for (const r of role.rules ?? [])
          for (const g of r.apiGroups ?? [''])
            for (const res of r.resources ?? [])
              for (const v of r.verbs ?? [])
                for (const n of r.resourceNames ?? ['*'])
                  out.add(`${b.roleRef.kind} ${g}/${res}/${n}:${v}`);
      }
      return [...out].sort();
    };
    for (const mode of ['namespaced', 'cluster'] as const) {
      const deployed = readdirSync(join(REPO_ROOT, 'deploy', 'rbac', mode))
        .filter((f) => f.endsWith('.yaml'))
        .flatMap((f) =>
          parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy', 'rbac', mode, f), 'utf8'))
            .map((d) => d.toJS() as K8sObject | null)
            .filter((o): o is K8sObject => o !== null),
        );
      assert.deepEqual(
        deployed
          .filter((o) => o.kind === 'ServiceAccount')
          .map((o) => o.metadata.name)
          .sort(),
        SERVICE_CHARTS.map((s) => `ganglion-${s}`).sort(),
        `deploy/rbac/${mode}: one ServiceAccount per service`,
      );
      const chart = render(
        'ganglion',
        'global.kafka.brokers=kafka:9092',
        ...(mode === 'cluster' ? SERVICE_CHARTS.map((s) => `${s}.rbac.clusterWide=true`) : []),
      );
      for (const svc of SERVICE_CHARTS)
        assert.deepEqual(
          grants(deployed, `ganglion-${svc}`),
          grants(chart, `rel-${svc}`),
          `${mode}: deploy/rbac grants ganglion-${svc} what charts/${svc} grants`,
        );
      // Least privilege as the charts have it: only the trigger, push and pulled sources read Secrets.
      const secrets = SERVICE_CHARTS.filter((s) =>
        grants(deployed, `ganglion-${s}`).some((g) => / \/secrets\/\*:get$/.test(g)),
      );
      for (const s of ['sensor', 'reconciler', 'admission', ...SELF_CONTAINED])
        assert.ok(!secrets.includes(s), `${mode}: ${s} reads no Secret`);
      assert.ok(secrets.includes('trigger') && secrets.includes('ingress-webhook'));
    }
  });

  it('the rendered umbrella chart applies to a real API server, and its grants are least privilege', async () => {
    const kube = await kubeApiServer();
    const ns = await kube.namespace('charts');
    // No Prometheus Operator CRDs in the test API server: leave the ServiceMonitors out here.
    const off = [...SERVICE_CHARTS].map((c) => `${c}.metrics.serviceMonitor.enabled=false`);
    const text = ok([
      'template',
      'rel',
      'ganglion',
      '--namespace',
      ns,
      '--set',
      'global.kafka.brokers=kafka:9092',
      ...off.flatMap((s) => ['--set', s]),
    ]);
    const dry = kube.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], { stdin: text });
    assert.equal(dry.status, 0, dry.stderr);
    // The ValidatingWebhookConfiguration is cluster-scoped and would send every other test's
    // argoproj.io objects to an admission pod that never runs here: it is only dry-run.
    const docs = parseAllDocuments(text).filter(
      (d) => (d.toJS() as K8sObject | null)?.kind !== 'ValidatingWebhookConfiguration',
    );
    assert.equal(
      docs.length,
      parseAllDocuments(text).length - 1,
      'the chart renders one ValidatingWebhookConfiguration',
    );
    const r = kube.kubectl(['apply', '-n', ns, '-f', '-'], {
      stdin: docs.map((d) => d.toString()).join('---\n'),
    });
    assert.equal(r.status, 0, r.stderr);
    const policies = kube.kubectl(['get', 'networkpolicies', '-n', ns, '-o', 'name']).stdout;
    assert.equal(policies.trim().split('\n').length, SERVICE_CHARTS.length, policies);
    const can = (sa: string, verb: string, resource: string, where = ns): boolean =>
      kube
        .kubectl([
          'auth',
          'can-i',
          verb,
          resource,
          ...(where === '*' ? ['--all-namespaces'] : ['-n', where]),
          `--as=system:serviceaccount:${ns}:${sa}`,
        ])
        .stdout.trim() === 'yes';
    assert.ok(can('rel-reconciler', 'watch', 'sensors.argoproj.io'));
    assert.ok(can('rel-reconciler', 'patch', 'eventsources.argoproj.io/status'));
    assert.ok(can('rel-reconciler', 'update', 'leases.coordination.k8s.io/ganglion-reconciler'));
    assert.ok(
      !can('rel-reconciler', 'watch', 'sensors.argoproj.io', '*'),
      'namespaced install: not cluster-wide',
    );
    assert.ok(!can('rel-reconciler', 'get', 'secrets'));
    assert.ok(!can('rel-reconciler', 'delete', 'sensors.argoproj.io'));
    // Push sources read the Secrets their EventSources reference; the sensor and the owned
    // sources (calendar, file, resource) read none.
    assert.ok(can('rel-ingress-webhook', 'get', 'secrets'));
    assert.ok(!can('rel-ingress-webhook', 'list', 'secrets'));
    for (const sa of [
      'rel-sensor',
      'rel-ingress-calendar',
      'rel-ingress-file',
      'rel-ingress-resource',
    ])
      assert.ok(!can(sa, 'get', 'secrets'), `${sa} reads no Secret`);
    assert.ok(!can('rel-admission', 'get', 'secrets'));
    // The trigger: Secrets, and impersonating the Sensors' service accounts; what its k8s and
    // argoWorkflow triggers do is the impersonated account's business, not its own.
    await kube.installArgoWorkflowsCrds();
    assert.ok(can('rel-trigger', 'get', 'secrets'));
    assert.ok(can('rel-trigger', 'impersonate', 'serviceaccounts'));
    assert.ok(!can('rel-trigger', 'impersonate', 'users'));
    assert.ok(!can('rel-trigger', 'create', 'workflows.argoproj.io'));
    assert.ok(!can('rel-trigger', 'get', 'configmaps'));
    assert.ok(!can('rel-trigger', 'create', 'jobs.batch'));
    assert.ok(!can('rel-sensor', 'create', 'workflows.argoproj.io'));
  });

  it('NetworkPolicy: on by default for every service, admitting only what each needs; off or extended by values', () => {
    interface Rule {
      ports?: { port: number; protocol: string }[];
      from?: unknown[];
      to?: unknown[];
    }
    const objs = render('ganglion', 'global.kafka.brokers=kafka-0:9092\\,kafka-1:9093');
    const policy = (name: string) => {
      const np = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name) as
        | { spec: { podSelector: unknown; ingress: Rule[]; egress: Rule[]; policyTypes: string[] } }
        | undefined;
      assert.ok(np, `NetworkPolicy ${name}`);
      return np.spec;
    };
    const ports = (rules: Rule[]): number[] =>
      [...new Set(rules.flatMap((r) => (r.ports ?? []).map((p) => p.port)))].sort((a, b) => a - b);
    const open = (rules: Rule[]): boolean => rules.some((r) => !r.ports && !r.from && !r.to);
    for (const svc of SERVICE_CHARTS) {
      const np = policy(`rel-${svc}`);
      assert.deepEqual(np.policyTypes, ['Ingress', 'Egress'], svc);
      assert.deepEqual(
        np.podSelector,
        { matchLabels: { 'app.kubernetes.io/name': svc, 'app.kubernetes.io/instance': 'rel' } },
        svc,
      );
      const push = PUSH.has(svc);
      // Pulled sources other than calendar/file/resource reach the peers their EventSources name.
      const pulls = svc.startsWith('ingress-') && !push && !SELF_CONTAINED.has(svc);
      // Push sources: any client, on every port (EventSources name their ports); admission: 8443
      // for the API server; everything else: metrics scrapes only.
      assert.equal(open(np.ingress), push, `${svc} ingress open to every port`);
      if (!push)
        assert.deepEqual(ports(np.ingress), svc === 'admission' ? [7777, 8443] : [7777], svc);
      // Egress: the trigger anywhere (its targets); the others DNS, Kafka (the brokers' ports),
      // the API server, OTLP, and for sources calling their provider's API, 443.
      assert.equal(open(np.egress), svc === 'trigger' || pulls, `${svc} egress open`);
      if (svc === 'trigger' || pulls) continue;
      const want = svc === 'admission' ? [53, 4317, 4318] : [53, 443, 4317, 4318, 6443, 9092, 9093];
      assert.deepEqual(ports(np.egress), want, `${svc} egress ports`);
    }
    assert.ok(
      policy('rel-ingress-github').egress.some(
        (r) => !r.to && r.ports?.length === 1 && r.ports[0]!.port === 443,
      ),
      "github reaches its provider's API on 443",
    );
    assert.ok(
      !policy('rel-ingress-webhook').egress.some(
        (r) => r.ports?.length === 1 && r.ports[0]!.port === 443,
      ),
      'webhook calls no provider',
    );
    const off = render(
      'ganglion',
      'global.kafka.brokers=kafka:9092',
      'sensor.networkPolicy.enabled=false',
    );
    assert.ok(!off.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'rel-sensor'));
    assert.ok(off.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'rel-trigger'));
    const extended = render(
      'sensor',
      'kafka.brokers=kafka:9092',
      'networkPolicy.kafkaPorts={9094}',
      'networkPolicy.extraEgress[0].ports[0].port=5432',
      'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring',
    );
    const np = extended.find((o) => o.kind === 'NetworkPolicy')!.spec as unknown as {
      ingress: Rule[];
      egress: Rule[];
    };
    assert.ok(ports(np.egress).includes(9094) && ports(np.egress).includes(5432));
    assert.deepEqual(np.ingress[0]!.from, [
      { namespaceSelector: { matchLabels: { name: 'monitoring' } } },
    ]);
  });

  it('rendering without Kafka brokers fails with a message naming the value', () => {
    const r = run(['template', 'rel', 'ganglion']);
    assert.notEqual(r.status, 0);
    assert.match(r.err, /kafka\.brokers \(or global\.kafka\.brokers\) must be set/);
  });

  it('Kafka: topics durable by default (3 replicas, min.insync.replicas 2); TLS and SASL from values, the password mounted from its Secret', () => {
    type Pod = {
      containers: {
        env: { name: string; value?: string }[];
        volumeMounts: { name: string; mountPath: string }[];
      }[];
      volumes: { name: string; secret?: { secretName: string } }[];
    };
    const pod = (objs: K8sObject[], name: string): Pod =>
      (
        objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!.spec as {
          template: { spec: Pod };
        }
      ).template.spec;
    const envOf = (p: Pod): Record<string, string | undefined> =>
      Object.fromEntries(p.containers[0]!.env.map((e) => [e.name, e.value]));
    const plain = envOf(pod(render('ganglion', 'global.kafka.brokers=kafka:9093'), 'rel-sensor'));
    assert.equal(plain['GANGLION_TOPIC_REPLICATION'], '3');
    assert.equal(plain['GANGLION_TOPIC_MIN_INSYNC_REPLICAS'], '2');
    assert.equal(plain['KAFKA_TLS'], undefined);
    assert.equal(plain['KAFKA_SASL_MECHANISM'], undefined);
    const objs = render(
      'ganglion',
      'global.kafka.brokers=kafka:9093',
      'global.kafka.tls.enabled=true',
      'global.kafka.tls.secretName=kafka-ca',
      'global.kafka.tls.caKey=ca.crt',
      'global.kafka.sasl.mechanism=SCRAM-SHA-512',
      'global.kafka.sasl.username=ganglion',
      'global.kafka.sasl.passwordSecret.name=kafka-login',
      'global.kafka.topics.replicationFactor=1',
    );
    for (const name of ['rel-reconciler', 'rel-sensor', 'rel-trigger', 'rel-ingress-webhook']) {
      const p = pod(objs, name);
      const env = envOf(p);
      assert.equal(env['KAFKA_TLS'], 'true', name);
      assert.equal(env['KAFKA_TLS_CA_FILE'], '/etc/ganglion/kafka-tls/ca.crt', name);
      assert.equal(env['KAFKA_SASL_MECHANISM'], 'SCRAM-SHA-512', name);
      assert.equal(env['KAFKA_SASL_USERNAME'], 'ganglion', name);
      assert.equal(env['KAFKA_SASL_PASSWORD_FILE'], '/etc/ganglion/kafka-sasl/password', name);
      assert.equal(env['GANGLION_TOPIC_REPLICATION'], '1', name);
      assert.deepEqual(
        p.volumes.filter((v) => v.secret).map((v) => [v.name, v.secret!.secretName]),
        [
          ['kafka-tls', 'kafka-ca'],
          ['kafka-sasl', 'kafka-login'],
        ],
        name,
      );
    }
    const r = run([
      'template',
      'rel',
      'ganglion',
      '--set',
      'global.kafka.brokers=kafka:9093',
      '--set',
      'global.kafka.sasl.mechanism=PLAIN',
    ]);
    assert.notEqual(r.status, 0);
    assert.match(r.err, /kafka\.sasl\.username must be set/);
  });
});
