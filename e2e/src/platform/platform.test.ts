import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  ensureGanglionImage,
  ensureHelm,
  HOST_IP,
  Jaeger,
  KafkaBroker,
  kubeCluster,
  type KubeCluster,
  REPO_ROOT,
  runAsync,
  waitFor,
} from '@ganglion/testing';

/**
 * The platform as its users deploy it (issue 15): the umbrella chart installed with `helm install`
 * on the run's real single-node cluster (libs/testing kube-cluster.ts) with the locally built
 * image, Kafka and Jaeger on the pod bridge's host address, the example EventBus, EventSource and
 * Sensor applied with kubectl; then an event through the webhook Service to an HTTP target with
 * its trace in Jaeger, ingress-webhook scaled 1 → 3 → 1 and rolled under load with nothing lost,
 * and `helm uninstall` leaving only what the chart documents (the CRDs).
 */
const NS = 'argo-events';
const RELEASE = 'ganglion';
const SERVICES = [
  'reconciler',
  'admission',
  'sensor',
  'trigger',
  'ingress-webhook',
  'ingress-github',
];

interface Call {
  url: string;
  headers: IncomingHttpHeaders;
  body: { text?: string; eventId?: string };
}

/** Loads still sending: `after` stops them, so a failed test cannot keep the file's process alive. */
const running = new Set<Load>();

/** A steady, bounded load of webhook POSTs (one new connection each, so every replica gets some). */
class Load {
  readonly acknowledged: string[] = [];
  failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private seq = 0;
  private pending = new Set<Promise<void>>();

  constructor(
    private readonly url: string,
    private readonly prefix: string,
    private readonly perSecond = 20,
    private readonly maxInFlight = 16,
  ) {}

  start(): this {
    this.timer = setInterval(() => this.fire(), 1000 / this.perSecond);
    running.add(this);
    return this;
  }

  private fire(): void {
    if (this.inFlight >= this.maxInFlight) return;
    const id = `${this.prefix}-${++this.seq}`;
    this.inFlight++;
    const p = new Promise<void>((resolve) => {
      const body = JSON.stringify({ message: id });
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: false,
          timeout: 10_000,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode! >= 200 && res.statusCode! < 300) this.acknowledged.push(id);
            else this.failures++;
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        this.failures++;
        resolve();
      });
      req.end(body);
    }).finally(() => {
      this.inFlight--;
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    running.delete(this);
    await Promise.all([...this.pending]);
  }
}

describe('platform: the umbrella chart on a real node', { timeout: 3_600_000 }, () => {
  let cluster: KubeCluster;
  let kafka: KafkaBroker;
  let jaeger: Jaeger;
  let helm = '';
  let chartDir = '';
  let webhookUrl = '';
  let imageTag = '';
  let caBundle = '';
  const calls: Call[] = [];
  const target = createServer((req, res) => {
    let raw = '';
    req.on('data', (b: Buffer) => (raw += b.toString('utf8')));
    req.on('end', () => {
      let body: Call['body'] = {};
      try {
        body = JSON.parse(raw) as Call['body'];
      } catch {
        /* not JSON */
      }
      calls.push({ url: req.url ?? '', headers: req.headers, body });
      res.end('ok');
    });
  });
  const startedAt = Date.now();

  // Never blocking: the HTTP target and the load generator live in this process.
  const kubectl = async (args: string[], stdin?: string): Promise<string> => {
    const r = await cluster.kubectlAsync(args, { stdin, timeoutMs: 300_000 });
    assert.equal(r.status, 0, `kubectl ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  /** Runs `body`; when it fails, prints the last log lines of every pod of the release first. */
  const withPodLogsOnFailure = async <T>(body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (err) {
      const r = await cluster.kubectlAsync([
        'logs',
        '-n',
        NS,
        '-l',
        `app.kubernetes.io/instance=${RELEASE}`,
        '--tail=40',
        '--prefix',
      ]);
      console.log(
        `# pod logs (last 40 lines each):\n${r.stdout}${r.stderr}`.replace(/\n/g, '\n# '),
      );
      throw err;
    }
  };
  const helmRun = async (args: string[]): Promise<string> => {
    const r = await runAsync(helm, args, {
      cwd: chartDir,
      timeoutMs: 900_000,
      env: {
        ...process.env,
        KUBECONFIG: cluster.kubeconfigPath,
        HELM_CACHE_HOME: join(chartDir, '.helm'),
        HELM_CONFIG_HOME: join(chartDir, '.helm'),
        HELM_DATA_HOME: join(chartDir, '.helm'),
      },
    });
    assert.equal(r.status, 0, `helm ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  /** The `helm install` of docs/deployment.md, with this run's addresses. */
  const installArgs = (verb: 'install' | 'upgrade', extra: string[] = []): string[] => [
    verb,
    RELEASE,
    join(chartDir, 'ganglion'),
    '--namespace',
    NS,
    '-f',
    join(REPO_ROOT, 'deploy', 'helm', 'single-node-values.yaml'),
    '--set',
    `global.kafka.brokers=${kafka.brokers}`,
    '--set',
    `global.image.tag=${imageTag}`,
    '--set',
    `global.otlpEndpoint=${jaeger.otlpHttpEndpoint}`,
    '--set',
    `admission.webhook.caBundle=${caBundle}`,
    '--wait',
    '--timeout',
    '10m',
    ...extra,
  ];
  const deploymentReady = async (name: string, replicas: number): Promise<boolean> => {
    const r = await cluster.kubectlAsync(['get', 'deployment', name, '-n', NS, '-o', 'json']);
    if (r.status !== 0) return false;
    const d = JSON.parse(r.stdout) as {
      metadata: { generation: number };
      spec: { replicas: number };
      status: {
        observedGeneration?: number;
        replicas?: number;
        readyReplicas?: number;
        updatedReplicas?: number;
      };
    };
    return (
      d.spec.replicas === replicas &&
      d.status.observedGeneration === d.metadata.generation &&
      d.status.replicas === replicas &&
      d.status.readyReplicas === replicas &&
      d.status.updatedReplicas === replicas
    );
  };
  const replicasOf = async (name: string): Promise<number> =>
    Number(await kubectl(['get', 'deployment', name, '-n', NS, '-o', 'jsonpath={.spec.replicas}']));
  /** Waits until every acknowledged event reached the target; returns how often each arrived. */
  const delivered = async (ids: string[]): Promise<Map<string, number>> => {
    const want = new Set(ids);
    const count = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const c of calls)
        if (c.body.text && want.has(c.body.text)) m.set(c.body.text, (m.get(c.body.text) ?? 0) + 1);
      return m;
    };
    await waitFor(() => count().size === want.size, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `${want.size} acknowledged events at the target (have ${count().size})`,
    });
    return count();
  };

  before(async () => {
    cluster = await kubeCluster();
    helm = ensureHelm();
    // `npm run image` (scripts/image.sh): cached by the build's content hash.
    const { image, archive } = await ensureGanglionImage({ archive: true });
    imageTag = image.slice(image.lastIndexOf(':') + 1);
    assert.ok(
      image.startsWith('localhost/ganglion:') && archive,
      `the image is localhost/ganglion:<tag> with an archive (${image})`,
    );
    const t0 = Date.now();
    cluster.importArchive(archive);
    console.log(`# imported ${image} into the node in ${Date.now() - t0} ms`);
    [kafka, jaeger] = await Promise.all([
      KafkaBroker.start({ host: HOST_IP, heap: '512m' }),
      Jaeger.start({ host: HOST_IP }),
    ]);
    await new Promise<void>((resolve) => target.listen(0, HOST_IP, resolve));
    // Charts on a copy: `helm dependency build` writes charts/*/charts/ next to each chart.
    chartDir = mkdtempSync(join(tmpdir(), 'ganglion-platform-'));
    cpSync(join(REPO_ROOT, 'charts'), chartDir, { recursive: true });
    for (const c of [...SERVICES, 'ganglion']) await helmRun(['dependency', 'build', c]);
    // The namespace, the PriorityClass platform-events, LimitRange and quota (deploy/governance).
    await kubectl(['apply', '-f', join(REPO_ROOT, 'deploy', 'governance', 'namespace.yaml')]);
    // The admission webhook's TLS (cert-manager's job in a real cluster), signed by the cluster CA.
    const cert = cluster.api.servingCertificate([`DNS:${RELEASE}-admission.${NS}.svc`]);
    const certDir = mkdtempSync(join(tmpdir(), 'ganglion-admission-tls-'));
    writeFileSync(join(certDir, 'tls.crt'), cert.cert);
    writeFileSync(join(certDir, 'tls.key'), cert.key);
    await kubectl([
      'create',
      'secret',
      'tls',
      'ganglion-admission-tls',
      '-n',
      NS,
      `--cert=${join(certDir, 'tls.crt')}`,
      `--key=${join(certDir, 'tls.key')}`,
    ]);
    rmSync(certDir, { recursive: true, force: true });
    caBundle = Buffer.from(cert.ca).toString('base64');
  });

  after(async () => {
    await Promise.all([...running].map((l) => l.stop()));
    target.closeAllConnections();
    target.close();
    await Promise.all([kafka?.destroy(), jaeger?.destroy()]);
    if (chartDir) rmSync(chartDir, { recursive: true, force: true });
    console.log(`# platform suite: ${Math.round((Date.now() - startedAt) / 1000)} s`);
  });

  it('helm install: CRDs, reconciler, admission, webhook and github ingress, sensor, trigger; every pod Ready', async () => {
    const t0 = Date.now();
    await helmRun(installArgs('install'));
    console.log(`# helm install --wait: ${Date.now() - t0} ms`);
    for (const crd of ['eventbus', 'eventsources', 'sensors'])
      await kubectl(['get', 'crd', `${crd}.argoproj.io`]);
    const pods = JSON.parse(await kubectl(['get', 'pods', '-n', NS, '-o', 'json'])) as {
      items: {
        metadata: { name: string; labels: Record<string, string> };
        status: { conditions?: { type: string; status: string }[] };
      }[];
    };
    const names = pods.items.map((p) => p.metadata.labels['app.kubernetes.io/name']).sort();
    assert.deepEqual(names, [...SERVICES].sort());
    for (const p of pods.items)
      assert.ok(
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        `${p.metadata.name} Ready`,
      );
  });

  it('applies the example EventBus, EventSource and Sensor with kubectl; conditions show in kubectl get', async () => {
    const example = (f: string): Record<string, unknown> & { spec: Record<string, unknown> } =>
      parse(readFileSync(join(REPO_ROOT, 'examples', 'local', f), 'utf8')) as never;
    const bus = example('eventbus.yaml');
    const source = example('webhook-eventsource.yaml');
    // Argo's spec.service: the reconciler creates the Service in front of ingress-webhook.
    source.spec['service'] = { ports: [{ port: 12000, targetPort: 12000 }] };
    const sensor = example('webhook-sensor.yaml');
    const port = (target.address() as { port: number }).port;
    const triggers = sensor.spec['triggers'] as { template: { http?: { url: string } } }[];
    triggers.find((t) => t.template.http)!.template.http!.url = `http://${HOST_IP}:${port}/notify`;
    for (const doc of [bus, source, sensor])
      await kubectl(['apply', '-n', NS, '-f', '-'], JSON.stringify(doc));
    for (const kind of ['eventbus/default', 'eventsource/webhook', 'sensor/webhook'])
      await waitFor(
        async () => {
          const c = JSON.parse(
            (await kubectl(['get', kind, '-n', NS, '-o', 'jsonpath={.status.conditions}'])) || '[]',
          ) as { type: string; status: string }[];
          return c.length > 0 && c.every((x) => x.status === 'True');
        },
        { timeoutMs: 120_000, intervalMs: 500, what: `${kind}: every condition True` },
      );
    const table = await kubectl([
      'get',
      'eventbus,eventsources,sensors',
      '-n',
      NS,
      '-o',
      'custom-columns=KIND:.kind,NAME:.metadata.name,CONDITIONS:.status.conditions[*].type,STATUS:.status.conditions[*].status',
    ]);
    console.log(table.replace(/^/gm, '# '));
    assert.match(table, /EventSource\s+webhook\s+\S*Deployed\S*\s+True(,True)*\s*$/m);
    assert.match(table, /Sensor\s+webhook\s+\S*Deployed\S*\s+True(,True)*\s*$/m);
    const ip = await kubectl([
      'get',
      'service',
      'webhook-eventsource-svc',
      '-n',
      NS,
      '-o',
      'jsonpath={.spec.clusterIP}',
    ]);
    assert.match(ip, /^10\.96\./);
    webhookUrl = `http://${ip}:12000/example`;
  });

  it('denies a broken Sensor at admission, naming the field', async () => {
    const broken = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Sensor',
      metadata: { name: 'broken', namespace: NS },
      spec: {
        dependencies: [{ name: 'dep', eventSourceName: 'webhook', eventName: 'example' }],
        triggers: [{ template: { name: 'bad', http: { url: 'not-a-url' } } }],
      },
    };
    const r = await cluster.kubectlAsync(['apply', '-f', '-'], { stdin: JSON.stringify(broken) });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /denied the request/);
    assert.match(r.stderr, /spec\.triggers\[0\]\.template\.http\.url/);
    assert.notEqual((await cluster.kubectlAsync(['get', 'sensor', 'broken', '-n', NS])).status, 0);
  });

  it('delivers a POST to the webhook Service to the target, with one trace of ingress, sensor and trigger pods in Jaeger', async () => {
    const res = await waitFor(
      async () => {
        const r = await fetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'hello' }),
          signal: AbortSignal.timeout(5000),
        });
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `200 from ${webhookUrl}` },
    );
    assert.equal(res.status, 200);
    const call = await withPodLogsOnFailure(() =>
      waitFor(() => calls.find((c) => c.body.text === 'hello'), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'the http trigger call at the target',
      }),
    );
    const traceId = String(call.headers['traceparent']).split('-')[1]!;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const trace = await waitFor(
      async () => {
        const t = await jaeger.trace(traceId);
        const services = new Set(t?.spans.map((s) => s.service));
        return ['ganglion-ingress-webhook', 'ganglion-sensor', 'ganglion-trigger'].every((s) =>
          services.has(s),
        )
          ? t
          : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `trace ${traceId} with ingress, sensor and trigger spans`,
      },
    );
    // Spans come from the pods: Jaeger records each span's host (the pod name) as a process tag.
    console.log(
      `# trace ${traceId}: ${trace.spans.length} spans from ${[...new Set(trace.spans.map((s) => s.service))].join(', ')}`,
    );
  });

  it('scales ingress-webhook 1 → 3 → 1 under steady load while sensor and trigger stay: every 2xx event arrives once', async () => {
    const webhook = `${RELEASE}-ingress-webhook`;
    const others = {
      sensor: await replicasOf(`${RELEASE}-sensor`),
      trigger: await replicasOf(`${RELEASE}-trigger`),
    };
    const load = new Load(webhookUrl, 'scale').start();
    await waitFor(() => load.acknowledged.length >= 20, {
      timeoutMs: 60_000,
      what: 'load flowing',
    });
    await kubectl(['scale', 'deployment', webhook, '-n', NS, '--replicas=3']);
    await waitFor(() => deploymentReady(webhook, 3), {
      timeoutMs: 300_000,
      intervalMs: 500,
      what: `${webhook} at 3 ready replicas`,
    });
    const at3 = load.acknowledged.length;
    await waitFor(() => load.acknowledged.length >= at3 + 40, {
      timeoutMs: 60_000,
      what: 'load on 3 replicas',
    });
    await kubectl(['scale', 'deployment', webhook, '-n', NS, '--replicas=1']);
    await waitFor(() => deploymentReady(webhook, 1), {
      timeoutMs: 300_000,
      intervalMs: 500,
      what: `${webhook} back at 1 replica`,
    });
    const at1 = load.acknowledged.length;
    await waitFor(() => load.acknowledged.length >= at1 + 20, {
      timeoutMs: 60_000,
      what: 'load on 1 replica',
    });
    await load.stop();
    assert.deepEqual(
      {
        sensor: await replicasOf(`${RELEASE}-sensor`),
        trigger: await replicasOf(`${RELEASE}-trigger`),
      },
      others,
    );
    const counts = await delivered(load.acknowledged);
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no event delivered twice');
    console.log(
      `# scaling 1→3→1: ${load.acknowledged.length} events acknowledged and delivered once each, ${load.failures} refused/failed`,
    );
  });

  it('loses nothing when an ingress pod is deleted and the webhook Deployment is rolled with helm upgrade', async () => {
    const webhook = `${RELEASE}-ingress-webhook`;
    const load = new Load(webhookUrl, 'roll').start();
    await waitFor(() => load.acknowledged.length >= 20, {
      timeoutMs: 60_000,
      what: 'load flowing',
    });
    // The pods the scale-down to 1 ended may still be listed while they terminate: wait until
    // one webhook pod is left, then delete that one.
    const pod = await waitFor(
      async () => {
        const names = (
          await kubectl([
            'get',
            'pods',
            '-n',
            NS,
            '-l',
            'app.kubernetes.io/name=ingress-webhook',
            '-o',
            'jsonpath={.items[*].metadata.name}',
          ])
        )
          .trim()
          .split(/\s+/)
          .filter(Boolean);
        return names.length === 1 && names[0];
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'one ingress-webhook pod left' },
    );
    await kubectl(['delete', 'pod', pod, '-n', NS, '--wait=true']);
    await waitFor(() => deploymentReady(webhook, 1), {
      timeoutMs: 300_000,
      intervalMs: 500,
      what: `${webhook} replaced the deleted pod`,
    });
    const before = load.acknowledged.length;
    await waitFor(() => load.acknowledged.length >= before + 20, {
      timeoutMs: 60_000,
      what: 'load after the delete',
    });
    // A rolling update (maxSurge 1, maxUnavailable 0): a changed pod annotation rolls the pods.
    await helmRun(
      installArgs('upgrade', ['--set', `ingress-webhook.podAnnotations.rolled=r${Date.now()}`]),
    );
    await waitFor(() => deploymentReady(webhook, 1), {
      timeoutMs: 300_000,
      intervalMs: 500,
      what: `${webhook} rolled`,
    });
    const afterRoll = load.acknowledged.length;
    await waitFor(() => load.acknowledged.length >= afterRoll + 20, {
      timeoutMs: 60_000,
      what: 'load after the roll',
    });
    await load.stop();
    const counts = await delivered(load.acknowledged);
    assert.deepEqual(
      [...counts].filter(([, n]) => n > 1),
      [],
      'no event delivered twice',
    );
    console.log(
      `# pod delete + helm upgrade: ${load.acknowledged.length} events acknowledged and delivered, ${load.failures} refused/failed`,
    );
  });

  it("reports each pod's resident memory at idle", () => {
    const mem = cluster.containerMemory().filter((m) => m.namespace === NS);
    assert.ok(mem.length >= SERVICES.length, 'one container per service at least');
    const rows = mem.map((m) => ({
      pod: m.pod,
      container: m.container,
      rssMiB: +(m.rssBytes / 2 ** 20).toFixed(1),
    }));
    for (const r of rows) console.log(`# idle RSS ${r.pod}: ${r.rssMiB} MiB`);
    mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(REPO_ROOT, 'bench', 'results', 'platform-pods.json'),
      JSON.stringify(
        {
          measuredAt: new Date().toISOString(),
          method: 'VmRSS of each container init process (/proc/<pid>/status) via ctr tasks',
          pods: rows,
        },
        null,
        2,
      ),
    );
  });

  it('helm uninstall leaves nothing but what the chart documents (the CRDs)', async () => {
    // Users' resources go first, while the reconciler runs (it owns their finalizers).
    await kubectl([
      'delete',
      'sensor,eventsource,eventbus',
      '--all',
      '-n',
      NS,
      '--wait=true',
      '--timeout=120s',
    ]);
    const snapshot = async (): Promise<string[]> => {
      const kinds = (await kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name']))
        .split('\n')
        .filter((k) => k && !/^(events|events\.events\.k8s\.io)$/.test(k));
      return (await kubectl(['get', kinds.join(','), '-n', NS, '-o', 'name', '--ignore-not-found']))
        .split('\n')
        .filter(Boolean)
        .sort();
    };
    await helmRun(['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '5m']);
    const left = await waitFor(
      async () => {
        const s = (await snapshot()).filter(
          (o) =>
            // What the namespace had before the install (deploy/governance and the TLS Secret),
            // what Kubernetes itself keeps in every namespace, and what docs/deployment.md says
            // stays: the reconciler's leader-election Lease (written at run time, not by Helm).
            !/^(limitrange\/ganglion-defaults|resourcequota\/ganglion-quota|secret\/ganglion-admission-tls|serviceaccount\/default|configmap\/kube-root-ca\.crt|lease\/ganglion-reconciler)$/.test(
              o.replace(/^([a-z]+)\.[a-z0-9.]+\//, '$1/'),
            ),
        );
        return s.length === 0 ? s : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1000, what: 'the release namespace emptied' },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; left: ${(await snapshot()).join(' ')}`);
    });
    assert.deepEqual(left, []);
    const cluster_ = await kubectl([
      'get',
      'clusterroles,clusterrolebindings,validatingwebhookconfigurations,mutatingwebhookconfigurations',
      '-l',
      'app.kubernetes.io/part-of=ganglion',
      '-o',
      'name',
    ]);
    assert.equal(cluster_.trim(), '', 'no cluster-scoped object of the release');
    for (const crd of ['eventbus', 'eventsources', 'sensors'])
      await kubectl(['get', 'crd', `${crd}.argoproj.io`]);
  });
});
