import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { HOST_IP, kubeCluster, type KubeCluster, waitFor } from '@ganglion/testing';

/**
 * The test cluster itself (libs/testing kube-cluster.ts): a Ready node, a pod Running from a
 * locally built image, the pod reaching a server on the bridge's host address and a Service's
 * ClusterIP through kube-proxy, and the network rule holding: a packet to an address off the
 * bridge is dropped on the host (the DROP rule's counter grows) and the pod has no resolver that
 * leaves the host. The runner checks after teardown that nothing is left (bridge, chains, mounts).
 */
describe('test cluster (single node)', { timeout: 600_000 }, () => {
  let cluster: KubeCluster;
  let ns: string;
  const server = createServer((req, res) => res.end(`hello ${req.url}`));

  before(async () => {
    cluster = await kubeCluster();
    await new Promise<void>((resolve) => server.listen(0, HOST_IP, resolve));
    ns = `smoke-${process.pid}`;
    assert.equal(cluster.kubectl(['create', 'namespace', ns]).status, 0);
  });
  after(async () => {
    server.close();
    cluster?.kubectl(['delete', 'pod', '--all', '-n', ns, '--grace-period=1', '--wait=true']);
  });

  // Not the blocking kubectl: this process's own server must answer while the pod calls it.
  const exec = (args: string[], timeoutMs = 30_000) =>
    cluster.kubectlAsync(['exec', '-n', ns, 'probe', '--', ...args], { timeoutMs });
  const dropped = (): number => {
    const rules = cluster.iptablesCounters('mangle', 'GANGLION-ISOLATE');
    return rules.find((x) => x.target === 'DROP')?.packets ?? -1;
  };

  it('has a Ready node', () => {
    const r = cluster.kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /=True$/m);
  });

  it('runs a pod from a local image and reaches the bridge host and a ClusterIP', async () => {
    const image = cluster.importBusybox();
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'probe', namespace: ns, labels: { app: 'probe' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'probe',
            image,
            imagePullPolicy: 'Never',
            command: [
              '/bin/busybox',
              'sh',
              '-c',
              'echo pod-ok > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www',
            ],
            volumeMounts: [{ name: 'www', mountPath: '/www' }],
          },
        ],
        volumes: [{ name: 'www', emptyDir: {} }],
      },
    };
    const r = cluster.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(manifest) });
    assert.equal(r.status, 0, r.stderr);
    await waitFor(
      () =>
        cluster.kubectl([
          'get',
          'pod',
          'probe',
          '-n',
          ns,
          '-o',
          'jsonpath={.status.phase}/{.status.containerStatuses[0].ready}',
        ]).stdout === 'Running/true',
      { timeoutMs: 120_000, intervalMs: 500, what: 'pod probe Running and ready' },
    );
    const port = (server.address() as { port: number }).port;
    // busybox's nc (its static wget crashes in glibc's resolver set-up even for an address).
    const got = await exec([
      '/bin/busybox',
      'sh',
      '-c',
      `printf 'GET /from-pod HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 5 ${HOST_IP} ${port}`,
    ]);
    assert.equal(got.status, 0, got.stderr);
    assert.match(got.stdout, /^HTTP\/1\.[01] 200/);
    assert.match(got.stdout, /hello \/from-pod$/);

    assert.equal(
      cluster.kubectl(['expose', 'pod', 'probe', '-n', ns, '--port=80', '--target-port=8080'])
        .status,
      0,
    );
    const ip = cluster.kubectl([
      'get',
      'service',
      'probe',
      '-n',
      ns,
      '-o',
      'jsonpath={.spec.clusterIP}',
    ]).stdout;
    assert.match(ip, /^10\.96\./);
    const body = await waitFor(
      async () => {
        const res = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(2000) });
        return res.ok ? await res.text() : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `the Service's ClusterIP ${ip} from the host` },
    );
    assert.equal(body.trim(), 'pod-ok');
  });

  it('keeps every pod packet on the machine (the DROP rule holds) and no DNS leaves', async () => {
    const before = dropped();
    assert.ok(before >= 0, 'the GANGLION-ISOLATE DROP rule is installed');
    // 192.0.2.1 is off the bridge: the pod's SYN must die in the host's FORWARD path.
    const r = await exec(['/bin/busybox', 'nc', '-w', '2', '192.0.2.1', '80'], 20_000);
    assert.notEqual(r.status, 0, 'a connection off the bridge must fail');
    assert.notEqual(r.status, 139, `nc itself must not crash: ${r.stderr}`);
    assert.ok(dropped() > before, 'the DROP rule counted the pod packets');
    const resolv = await exec(['/bin/busybox', 'cat', '/etc/resolv.conf']);
    const servers = [...resolv.stdout.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(servers, ['127.0.0.1']);
  });
});
