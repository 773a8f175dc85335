import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAptBinary } from './apt-packages.js';
import { MissingPrerequisiteError } from './kafka-broker.js';
import { KUBE_VERSION, KubeApiServer, issueCertificate, kubeconfigYaml } from './kube-apiserver.js';
import { freePort } from './ports.js';
import { REPO_ROOT } from './service-process.js';
import { waitFor } from './wait-for.js';

/**
 * A real single-node Kubernetes cluster for tests (docs/testing.md, "The test cluster"): etcd and
 * kube-apiserver (kube-apiserver.ts), kube-controller-manager, kube-scheduler, kubelet and
 * kube-proxy v1.35.4 (built from the Go module proxy by scripts/ensure-kube-node.sh, cached by
 * version), Debian's containerd + runc + CNI plugins with a private root, state directory and
 * socket. Images reach containerd from local buildah/podman storage (`importImage`); pods use
 * `imagePullPolicy: Never`.
 *
 * The network rule (../shared/reference/cluster.md): pods live on a host-only bridge
 * (`ganglion0`, 10.244.0.0/16, no masquerading); before the first pod starts, a DROP rule in
 * the mangle table's FORWARD chain stops every packet from the bridge to any other interface, so
 * no pod packet leaves the machine. Pods get a resolv.conf pointing at the pod's own loopback (no
 * DNS query leaves the host); servers they need (API server, Kafka, Jaeger, test targets) listen on
 * the bridge's host address {@link HOST_IP}. The Service range is routed onto the bridge too.
 *
 * Teardown (also on a failed test, on SIGINT/SIGTERM through `exit`, and at the next start after a
 * killed run): controller-manager and scheduler, the pods (so the kubelet runs CNI DEL), kubelet,
 * leftover containerd tasks, containerd, kube-proxy's rules (`kube-proxy --cleanup`), the
 * control plane; then the KUBE-* chains, the DROP rule, the bridge, the kubelet's mounts, the
 * state directory. Needs root (it creates a bridge and iptables rules).
 */
const BRIDGE = 'ganglion0';
const POD_CIDR = '10.244.0.0/16';
export const HOST_IP = '10.244.0.1';
const SERVICE_CIDR = '10.96.0.0/16';
const NODE_NAME = 'ganglion-node';
const PAUSE_IMAGE = 'localhost/ganglion/pause:3.10';
const ISOLATE_CHAIN = 'GANGLION-ISOLATE';
/** Where a running cluster records itself, so that the next start cleans up after a killed run. */
const STATE_FILE = '/run/ganglion-kube-cluster.json';

interface NodeBinaries {
  kubelet: string;
  controllerManager: string;
  scheduler: string;
  proxy: string;
  kubectl: string;
  pause: string;
}

interface RecordedState {
  pid: number;
  dir: string;
  apiDir: string;
  children: number[];
  sysctls: Record<string, string>;
}

function sh(
  cmd: string,
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    input: options.input,
    timeout: options.timeoutMs ?? 60_000,
  });
  return {
    status: r.status ?? 1,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? (r.error ? String(r.error) : ''),
  };
}

/** Runs a command to completion without blocking the event loop. */
export function runAsync(
  cmd: string,
  args: string[],
  options: { stdin?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ status: 1, stdout, stderr: stderr + String(err) });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? 1, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

function must(cmd: string, args: string[], input?: string): string {
  const r = sh(cmd, args, { input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True while `pid` runs (a zombie counts as ended). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; returns when the process has ended. */
function stopPid(pid: number | undefined, graceMs = 10_000): void {
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) sleepSync(50);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    const hard = Date.now() + 5000;
    while (alive(pid) && Date.now() < hard) sleepSync(50);
  }
}

/** Builds (once, cached) the node binaries and the static pause binary. */
function ensureNodeBinaries(): NodeBinaries {
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-kube-node.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KUBE_VERSION },
  });
  if (r.status !== 0)
    throw new MissingPrerequisiteError(
      `could not prepare kubelet, kube-controller-manager, kube-scheduler, kube-proxy and kubectl ${KUBE_VERSION} (scripts/ensure-kube-node.sh failed, see above)`,
    );
  const v = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  return {
    kubelet: v['KUBELET']!,
    controllerManager: v['KUBE_CONTROLLER_MANAGER']!,
    scheduler: v['KUBE_SCHEDULER']!,
    proxy: v['KUBE_PROXY']!,
    kubectl: v['KUBECTL']!,
    pause: v['PAUSE']!,
  };
}

/** The Debian packages the node needs (installed with apt-get when missing). */
function ensureNodePackages(): void {
  if (process.getuid?.() !== 0)
    throw new MissingPrerequisiteError(
      'the test cluster needs root (it creates a bridge, iptables rules and runs containerd and the kubelet)',
    );
  for (const [bin, pkg] of [
    ['containerd', 'containerd'],
    ['ctr', 'containerd'],
    ['runc', 'runc'],
    ['/usr/lib/cni/bridge', 'containernetworking-plugins'],
    ['iptables', 'iptables'],
    ['conntrack', 'conntrack'],
    ['socat', 'socat'],
    ['buildah', 'buildah'],
  ] as const)
    ensureAptBinary(bin, pkg);
}

/** Reads one `KEY value` line of a cgroup v1 memory.stat or /proc status file. */
function statLine(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:?\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Resident memory of one running container (from /proc of its processes). */
interface ContainerMemory {
  namespace: string;
  pod: string;
  container: string;
  rssBytes: number;
}

/**
 * A running single-node cluster: the control plane (`api`), containerd, kubelet, kube-proxy,
 * controller-manager and scheduler. `GANGLION_TEST_CLUSTER=<state dir>` shares it with test files
 * ({@link KubeCluster.attach}); only the process that started it tears it down.
 */
export class KubeCluster {
  private children: ChildProcess[] = [];
  private torn = false;
  private sysctls: Record<string, string> = {};

  private constructor(
    /** State directory: kubeconfig, certificates, logs, containerd and kubelet roots. */
    readonly dir: string,
    readonly api: KubeApiServer,
    private readonly bin: Pick<NodeBinaries, 'kubectl' | 'proxy'>,
    private readonly owned: boolean,
  ) {}

  /** Cluster-admin kubeconfig. */
  get kubeconfigPath(): string {
    return this.api.kubeconfigPath;
  }

  /** containerd's private socket. */
  get containerdSocket(): string {
    return join(this.dir, 'containerd', 'containerd.sock');
  }

  /** Attaches to the cluster another process (the test runner) started. */
  static attach(dir: string): KubeCluster {
    const info = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as {
      apiDir: string;
      kubectl: string;
      proxy: string;
    };
    return new KubeCluster(dir, KubeApiServer.attach(info.apiDir), info, false);
  }

  /**
   * Builds what is missing (cached), cleans up after a killed earlier run, and starts the cluster;
   * resolves when the node is Ready. Throws {@link MissingPrerequisiteError} when the machine
   * cannot run it (no root, no Go for the first build, no apt-get for a missing package).
   */
  static async start(options: { onProgress?: (line: string) => void } = {}): Promise<KubeCluster> {
    const say = options.onProgress ?? ((l: string) => console.log(l));
    ensureNodePackages();
    const bin = ensureNodeBinaries();
    cleanupStale();
    const t0 = Date.now();
    const sysctls = readSysctls();
    // The bridge and the isolation rule come first: nothing may run on the bridge before the DROP.
    isolateBridge();
    let api: KubeApiServer;
    try {
      api = await KubeApiServer.start({
        host: HOST_IP,
        crds: false,
        sans: ['IP:10.96.0.1', 'DNS:kubernetes', 'DNS:kubernetes.default'],
        extraArgs: (apiDir) => {
          issueCertificate(apiDir, 'apiserver-kubelet-client', {
            cn: 'kube-apiserver-kubelet-client',
            groups: ['system:masters'],
            usage: 'client',
          });
          return [
            // Appended to the server's RBAC: Node,RBAC (the kubelet's node authorizer).
            '--authorization-mode=Node',
            '--endpoint-reconciler-type=lease',
            `--kubelet-client-certificate=${join(apiDir, 'apiserver-kubelet-client.crt')}`,
            `--kubelet-client-key=${join(apiDir, 'apiserver-kubelet-client.key')}`,
            '--kubelet-preferred-address-types=InternalIP',
            // Admission webhooks are called at their pod's address (no DNS, no ClusterIP hop).
            '--enable-aggregator-routing=true',
            '--allow-privileged=true',
          ];
        },
      });
    } catch (err) {
      teardownNetwork(sysctls);
      throw err;
    }
    const dir = join(api.dir, 'node');
    mkdirSync(dir, { recursive: true });
    const cluster = new KubeCluster(dir, api, bin, true);
    cluster.sysctls = sysctls;
    const onExit = (): void => cluster.teardown();
    process.prependOnceListener('exit', onExit);
    try {
      await cluster.bootNode(bin, say);
      say(`test cluster: node ${NODE_NAME} Ready in ${Date.now() - t0} ms (state in ${dir})`);
      writeFileSync(
        join(dir, 'cluster.json'),
        JSON.stringify({ apiDir: api.dir, kubectl: bin.kubectl, proxy: bin.proxy }),
      );
      return cluster;
    } catch (err) {
      process.removeListener('exit', onExit);
      // The components' logs outlive the failed start (the state directory does not).
      const keep = join(tmpdir(), `ganglion-cluster-failed-${process.pid}`);
      mkdirSync(keep, { recursive: true });
      for (const d of [dir, api.dir])
        for (const f of readdirSync(d).filter((n) => n.endsWith('.log')))
          cpSync(join(d, f), join(keep, f));
      cluster.teardown();
      await api.destroy();
      throw new Error(`${(err as Error).message} (the components' logs are in ${keep})`);
    }
  }

  private record(): void {
    const state: RecordedState = {
      pid: process.pid,
      dir: this.dir,
      apiDir: this.api.dir,
      children: this.children.map((c) => c.pid!).filter(Boolean),
      sysctls: this.sysctls,
    };
    writeFileSync(STATE_FILE, JSON.stringify(state));
  }

  private spawn(cmd: string, args: string[], log: string): ChildProcess {
    const out = createWriteStream(join(this.dir, log));
    // Its own process group: Ctrl-C reaches the test process, which tears down in order.
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.once('exit', (code, signal) => {
      if (!out.writableEnded) out.write(`\n[exited with ${code ?? signal}]\n`);
    });
    out.on('error', () => undefined);
    child.unref();
    (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    this.children.push(child);
    this.record();
    return child;
  }

  private componentKubeconfig(name: string, cn: string, groups: string[] = []): string {
    const cert = issueCertificate(this.api.dir, name, { cn, groups, usage: 'client' });
    const path = join(this.dir, `${name}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(this.api.server, cert, cn));
    return path;
  }

  private async bootNode(bin: NodeBinaries, say: (line: string) => void): Promise<void> {
    const d = this.dir;
    const ctrd = join(d, 'containerd');
    for (const sub of ['root', 'state', 'opt']) mkdirSync(join(ctrd, sub), { recursive: true });
    for (const sub of ['cni-conf', 'cni-ipam', 'kubelet', 'pod-logs'])
      mkdirSync(join(d, sub), { recursive: true });
    // CNI: a host-only bridge, host-local addresses, no masquerading.
    writeFileSync(
      join(d, 'cni-conf', '10-ganglion.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'ganglion-pods',
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: POD_CIDR, gateway: HOST_IP, rangeStart: '10.244.1.1' }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: join(d, 'cni-ipam'),
            },
          },
        ],
      }),
    );
    writeFileSync(
      join(ctrd, 'config.toml'),
      [
        'version = 2',
        `root = "${join(ctrd, 'root')}"`,
        `state = "${join(ctrd, 'state')}"`,
        'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
        '[grpc]',
        `  address = "${this.containerdSocket}"`,
        '[ttrpc]',
        `  address = "${this.containerdSocket}.ttrpc"`,
        '[debug]',
        '  level = "warn"',
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${join(ctrd, 'opt')}"`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${PAUSE_IMAGE}"`,
        // Without it every sandbox fails here: root may not lower oom_score_adj (no CAP_SYS_RESOURCE).
        '  restrict_oom_score_adj = true',
        '  enable_selinux = false',
        '  stream_server_address = "127.0.0.1"',
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        '        SystemdCgroup = false',
        '        BinaryName = "/usr/bin/runc"',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        '    bin_dir = "/usr/lib/cni"',
        `    conf_dir = "${join(d, 'cni-conf')}"`,
        '    max_conf_num = 1',
        '',
      ].join('\n'),
    );
    this.spawn('containerd', ['--config', join(ctrd, 'config.toml')], 'containerd.log');
    await waitFor(() => this.ctr(['version']).status === 0, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: `containerd on ${this.containerdSocket} (log: ${join(d, 'containerd.log')})`,
    });
    this.importPause(bin.pause);

    // Certificates and kubeconfigs of the node's components (the API server's CA signs them).
    const kubeletServing = issueCertificate(this.api.dir, 'kubelet-serving', {
      cn: NODE_NAME,
      sans: [`IP:${HOST_IP}`, `DNS:${NODE_NAME}`],
      usage: 'server',
    });
    writeFileSync(join(d, 'kubelet.crt'), kubeletServing.cert);
    writeFileSync(join(d, 'kubelet.key'), kubeletServing.key);
    const kubeletKc = this.componentKubeconfig('kubelet', `system:node:${NODE_NAME}`, [
      'system:nodes',
    ]);
    const cmKc = this.componentKubeconfig('controller-manager', 'system:kube-controller-manager');
    const schedKc = this.componentKubeconfig('scheduler', 'system:kube-scheduler');
    const proxyKc = this.componentKubeconfig('kube-proxy', 'system:kube-proxy');
    // Pods resolve nothing outside: their resolver is their own loopback (no DNS leaves the host).
    writeFileSync(join(d, 'resolv.conf'), 'nameserver 127.0.0.1\noptions ndots:1 timeout:1\n');

    const [cmPort, schedPort, kubeletPort, kubeletHealthz, proxyHealthz, proxyMetrics] =
      await Promise.all([
        freePort(),
        freePort(),
        freePort(HOST_IP),
        freePort(),
        freePort(),
        freePort(),
      ]);
    this.spawn(
      bin.controllerManager,
      [
        `--kubeconfig=${cmKc}`,
        `--authentication-kubeconfig=${cmKc}`,
        `--authorization-kubeconfig=${cmKc}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${cmPort}`,
        `--cert-dir=${join(d, 'cm-certs')}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${join(this.api.dir, 'sa.key')}`,
        `--root-ca-file=${join(this.api.dir, 'ca.crt')}`,
        `--cluster-signing-cert-file=${join(this.api.dir, 'ca.crt')}`,
        `--cluster-signing-key-file=${join(this.api.dir, 'ca.key')}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--allocate-node-cidrs=false',
        '--profiling=false',
      ],
      'kube-controller-manager.log',
    );
    this.spawn(
      bin.scheduler,
      [
        `--kubeconfig=${schedKc}`,
        `--authentication-kubeconfig=${schedKc}`,
        `--authorization-kubeconfig=${schedKc}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${schedPort}`,
        `--cert-dir=${join(d, 'sched-certs')}`,
        '--leader-elect=false',
        '--profiling=false',
      ],
      'kube-scheduler.log',
    );
    writeFileSync(
      join(d, 'kubelet-config.json'),
      JSON.stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        address: HOST_IP,
        port: kubeletPort,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort: kubeletHealthz,
        tlsCertFile: join(d, 'kubelet.crt'),
        tlsPrivateKeyFile: join(d, 'kubelet.key'),
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: true },
          x509: { clientCAFile: join(this.api.dir, 'ca.crt') },
        },
        authorization: { mode: 'Webhook' },
        cgroupDriver: 'cgroupfs',
        failCgroupV1: false,
        failSwapOn: false,
        containerRuntimeEndpoint: `unix://${this.containerdSocket}`,
        resolvConf: join(d, 'resolv.conf'),
        clusterDomain: 'cluster.local',
        podLogsDir: join(d, 'pod-logs'),
        // A busy shared machine must not evict the test's pods or taint the node.
        evictionHard: {
          'memory.available': '50Mi',
          'nodefs.available': '1%',
          'imagefs.available': '1%',
          'nodefs.inodesFree': '1%',
        },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        serializeImagePulls: false,
        oomScoreAdj: 0,
        syncFrequency: '5s',
        fileCheckFrequency: '5s',
        nodeStatusUpdateFrequency: '5s',
        shutdownGracePeriod: '0s',
        maxPods: 60,
      }),
    );
    this.spawn(
      bin.kubelet,
      [
        `--config=${join(d, 'kubelet-config.json')}`,
        `--kubeconfig=${kubeletKc}`,
        `--root-dir=${join(d, 'kubelet')}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${HOST_IP}`,
        '--v=1',
      ],
      'kubelet.log',
    );
    writeFileSync(
      join(d, 'kube-proxy-config.json'),
      JSON.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'iptables',
        clientConnection: { kubeconfig: proxyKc },
        hostnameOverride: NODE_NAME,
        bindAddress: '127.0.0.1',
        healthzBindAddress: `127.0.0.1:${proxyHealthz}`,
        metricsBindAddress: `127.0.0.1:${proxyMetrics}`,
        clusterCIDR: POD_CIDR,
        nodePortAddresses: [`${HOST_IP}/32`],
        oomScoreAdj: 0,
        // Leave the host's conntrack sysctls alone.
        conntrack: {
          maxPerCore: 0,
          min: 0,
          tcpEstablishedTimeout: '0s',
          tcpCloseWaitTimeout: '0s',
        },
      }),
    );
    this.spawn(
      bin.proxy,
      [`--config=${join(d, 'kube-proxy-config.json')}`, '--v=1'],
      'kube-proxy.log',
    );
    say('test cluster: control plane up, waiting for the node...');
    await waitFor(
      () => {
        for (const c of this.children)
          if (c.exitCode !== null || c.signalCode !== null)
            throw new Error(`${c.spawnfile} exited (logs in ${d})`);
        const r = this.kubectl([
          'get',
          'node',
          NODE_NAME,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return r.stdout.trim() === 'True';
      },
      { timeoutMs: 180_000, intervalMs: 250, what: `node ${NODE_NAME} Ready (logs in ${d})` },
    );
    // Pods need their namespace's service account token (controller-manager) and kube-root-ca.
    await waitFor(() => this.kubectl(['get', 'serviceaccount', 'default']).status === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the default ServiceAccount',
    });
  }

  /** Runs `ctr` against the cluster's containerd (namespace k8s.io). */
  ctr(args: string[], timeoutMs = 120_000): { status: number; stdout: string; stderr: string } {
    return sh('ctr', ['--address', this.containerdSocket, '-n', 'k8s.io', ...args], { timeoutMs });
  }

  /** Runs kubectl (v1.35.4, built with the node) as cluster admin. */
  kubectl(
    args: string[],
    options: { stdin?: string; timeoutMs?: number } = {},
  ): { status: number; stdout: string; stderr: string } {
    return sh(this.bin.kubectl, ['--kubeconfig', this.kubeconfigPath, ...args], {
      input: options.stdin,
      timeoutMs: options.timeoutMs ?? 120_000,
    });
  }

  /**
   * kubectl without blocking the event loop: for tests whose own servers (HTTP targets, load
   * generators) must keep running while kubectl or the pods talk to them.
   */
  kubectlAsync(
    args: string[],
    options: { stdin?: string; timeoutMs?: number } = {},
  ): Promise<{ status: number; stdout: string; stderr: string }> {
    return runAsync(this.bin.kubectl, ['--kubeconfig', this.kubeconfigPath, ...args], options);
  }

  /** Imports a docker-archive tar (e.g. scripts/image.sh --archive) into the node's containerd. */
  importArchive(tar: string): void {
    const r = this.ctr(['images', 'import', '--no-unpack=false', tar], 600_000);
    if (r.status !== 0) throw new Error(`ctr images import ${tar} failed: ${r.stderr}`);
  }

  /** Wraps the static pause binary into an image with buildah and imports it. */
  private importPause(pauseBinary: string): void {
    const tar = join(this.dir, 'pause.tar');
    const c = must('buildah', ['from', 'scratch']).trim();
    try {
      must('buildah', ['copy', '--chmod', '0755', c, pauseBinary, '/pause']);
      must('buildah', ['config', '--entrypoint', '["/pause"]', '--user', '65535:65535', c]);
      must('buildah', ['commit', '--quiet', c, PAUSE_IMAGE]);
    } finally {
      sh('buildah', ['rm', c]);
    }
    must('buildah', ['push', '--quiet', PAUSE_IMAGE, `docker-archive:${tar}:${PAUSE_IMAGE}`]);
    this.importArchive(tar);
    rmSync(tar, { force: true });
  }

  /**
   * Copies a local image (buildah/podman storage, e.g. `localhost/ganglion:0.1.0`) into the
   * cluster's containerd; pods then run it with `imagePullPolicy: Never`.
   */
  importImage(ref: string): void {
    const tar = join(this.dir, `image-${Date.now()}.tar`);
    try {
      must('buildah', ['push', '--quiet', ref, `docker-archive:${tar}:${ref}`]);
      this.importArchive(tar);
    } finally {
      rmSync(tar, { force: true });
    }
  }

  /**
   * A tiny image for probing the pod network (Debian's static busybox: sh, wget, nc, httpd),
   * built with buildah and imported once per cluster; returns its reference.
   */
  importBusybox(): string {
    const ref = 'localhost/ganglion/busybox:test';
    if (this.ctr(['images', 'ls', '-q', `name==${ref}`]).stdout.trim()) return ref;
    ensureAptBinary('busybox', 'busybox-static');
    const c = must('buildah', ['from', 'scratch']).trim();
    try {
      must('buildah', ['copy', '--chmod', '0755', c, '/bin/busybox', '/bin/busybox']);
      must('buildah', ['config', '--entrypoint', '["/bin/busybox"]', '--user', '65534:65534', c]);
      must('buildah', ['commit', '--quiet', c, ref]);
    } finally {
      sh('buildah', ['rm', c]);
    }
    this.importImage(ref);
    return ref;
  }

  /** Packet counters of the rules in one iptables chain (e.g. mangle GANGLION-ISOLATE). */
  iptablesCounters(table: string, chain: string): { target: string; packets: number }[] {
    return sh('iptables', ['-t', table, '-L', chain, '-v', '-x', '-n'])
      .stdout.split('\n')
      .slice(2)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 3 && /^\d+$/.test(f[0]!))
      .map((f) => ({ packets: Number(f[0]), target: f[2]! }));
  }

  /** Resident memory of every running container, read from /proc of its init process. */
  containerMemory(): ContainerMemory[] {
    const out: ContainerMemory[] = [];
    const tasks = this.ctr(['tasks', 'ls']).stdout.trim().split('\n').slice(1);
    for (const line of tasks) {
      const [id, pid, status] = line.trim().split(/\s+/);
      if (!id || status !== 'RUNNING') continue;
      const info = this.ctr(['containers', 'info', id]);
      if (info.status !== 0) continue;
      const labels = (JSON.parse(info.stdout) as { Labels?: Record<string, string> }).Labels ?? {};
      const container = labels['io.kubernetes.container.name'];
      if (!container || labels['io.cri-containerd.kind'] === 'sandbox') continue;
      let rss = 0;
      try {
        rss = (statLine(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') ?? 0) * 1024;
      } catch {
        continue;
      }
      out.push({
        namespace: labels['io.kubernetes.pod.namespace'] ?? '',
        pod: labels['io.kubernetes.pod.name'] ?? '',
        container,
        rssBytes: rss,
      });
    }
    return out;
  }

  /** Stops everything in the documented order and removes every trace (idempotent, synchronous). */
  teardown(): void {
    if (!this.owned || this.torn) return;
    this.torn = true;
    const byName = (n: string): ChildProcess | undefined =>
      this.children.find((c) => c.spawnfile.endsWith(n));
    stopPid(byName('kube-controller-manager')?.pid);
    stopPid(byName('kube-scheduler')?.pid);
    // Deleting the pods lets the kubelet stop them and run CNI DEL.
    const kubelet = byName('kubelet');
    if (kubelet && alive(kubelet.pid!)) {
      this.kubectl(
        ['delete', 'pods', '--all', '--all-namespaces', '--grace-period=1', '--wait=false'],
        { timeoutMs: 30_000 },
      );
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const left = this.kubectl(['get', 'pods', '-A', '-o', 'name'], { timeoutMs: 10_000 });
        if (left.status === 0 && left.stdout.trim() === '') break;
        sleepSync(500);
      }
    }
    stopPid(kubelet?.pid);
    const proxy = byName('kube-proxy');
    stopPid(proxy?.pid);
    cleanupContainerd(this.containerdSocket);
    stopPid(byName('containerd')?.pid);
    removeKubepodsCgroups();
    sh(this.bin.proxy, ['--cleanup'], { timeoutMs: 60_000 });
    teardownNetwork(this.sysctls, join(this.dir, 'containerd'));
    removeLogLinks(this.dir);
    unmountUnder(this.dir);
    rmSync(STATE_FILE, { force: true });
  }

  /** Tears down the node and stops the control plane. */
  async destroy(): Promise<void> {
    if (!this.owned) return;
    this.teardown();
    await this.api.destroy();
  }
}

/**
 * Host settings the node changes: the CNI bridge plugin turns on forwarding, the kubelet sets
 * its kernel tunables (overcommit, panic), kube-proxy may set route_localnet. Saved before the
 * start and put back at teardown.
 */
const SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/route_localnet',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of SYSCTLS) {
    try {
      out[k] = readFileSync(`/proc/sys/${k}`, 'utf8').trim();
    } catch {
      /* not on this kernel */
    }
  }
  return out;
}

function restoreSysctls(saved: Record<string, string>): void {
  for (const [k, v] of Object.entries(saved)) {
    try {
      if (readFileSync(`/proc/sys/${k}`, 'utf8').trim() !== v) writeFileSync(`/proc/sys/${k}`, v);
    } catch {
      /* read-only here */
    }
  }
}

/** The kubelet's symlinks in /var/log/containers (a fixed path) into this cluster's pod logs. */
function removeLogLinks(dir: string): void {
  const logs = '/var/log/containers';
  if (!existsSync(logs)) return;
  for (const name of readdirSync(logs)) {
    const path = join(logs, name);
    try {
      if (readlinkSync(path).startsWith(dir)) rmSync(path, { force: true });
    } catch {
      /* not a link */
    }
  }
}

/** Kills and removes every containerd task and container still there (after the kubelet stopped). */
function cleanupContainerd(socket: string): void {
  if (!existsSync(socket)) return;
  const ctr = (args: string[]): { status: number; stdout: string } =>
    sh('ctr', ['--address', socket, '-n', 'k8s.io', ...args], { timeoutMs: 30_000 });
  for (const id of ctr(['tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
    ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
    ctr(['tasks', 'delete', '-f', id]);
  }
  for (const id of ctr(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean))
    ctr(['containers', 'rm', id]);
}

/** The kubelet's pod cgroups (`kubepods` under each cgroup v1 controller), deepest first. */
function kubepodsCgroups(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    found.push(dir);
    if (depth > 6) return;
    let entries: string[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) walk(join(dir, e), depth + 1);
  };
  let controllers: string[] = [];
  try {
    controllers = readdirSync('/sys/fs/cgroup');
  } catch {
    return [];
  }
  for (const c of controllers) {
    const top = join('/sys/fs/cgroup', c, 'kubepods');
    if (existsSync(top)) walk(top, 0);
  }
  return found.sort((a, b) => b.split('/').length - a.split('/').length);
}

function removeKubepodsCgroups(): void {
  for (const dir of kubepodsCgroups()) {
    try {
      rmdirSync(dir);
    } catch {
      /* busy or gone */
    }
  }
}

/** Unmounts everything mounted under `dir`, deepest first (kubelet volumes, overlay, shm). */
function unmountUnder(dir: string): void {
  const mounts = (): string[] =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') ?? '')
      .filter((m) => m === dir || m.startsWith(dir + '/'))
      .sort((a, b) => b.length - a.length);
  for (let i = 0; i < 5; i++) {
    const left = mounts();
    if (left.length === 0) break;
    for (const m of left) sh('umount', ['-l', m]);
  }
}

/** Network namespaces left by pods whose sandbox was not torn down (a killed run). */
function leftoverPodNetns(): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns')
    .filter((n) => n.startsWith('cni-'))
    .filter((n) =>
      sh('ip', ['netns', 'exec', n, 'ip', '-o', '-4', 'addr']).stdout.includes('10.244.'),
    );
}

/**
 * Creates the bridge with the host address and installs the isolation rules: a DROP of everything
 * forwarded from the bridge to another interface (mangle FORWARD, ahead of every filter rule
 * kube-proxy or podman add) and a route of the Service range onto the bridge.
 */
function isolateBridge(): void {
  if (sh('ip', ['link', 'show', BRIDGE]).status !== 0)
    must('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  must('ip', ['addr', 'replace', `${HOST_IP}/16`, 'dev', BRIDGE]);
  must('ip', ['link', 'set', BRIDGE, 'up']);
  sh('iptables', ['-t', 'mangle', '-N', ISOLATE_CHAIN]);
  must('iptables', ['-t', 'mangle', '-F', ISOLATE_CHAIN]);
  must('iptables', [
    '-t',
    'mangle',
    '-A',
    ISOLATE_CHAIN,
    '-i',
    BRIDGE,
    '-o',
    BRIDGE,
    '-j',
    'RETURN',
  ]);
  must('iptables', ['-t', 'mangle', '-A', ISOLATE_CHAIN, '-i', BRIDGE, '-j', 'DROP']);
  if (sh('iptables', ['-t', 'mangle', '-C', 'FORWARD', '-j', ISOLATE_CHAIN]).status !== 0)
    must('iptables', ['-t', 'mangle', '-I', 'FORWARD', '1', '-j', ISOLATE_CHAIN]);
  // Connections to a Service address kube-proxy has no rule for stay on the bridge too.
  must('ip', ['route', 'replace', SERVICE_CIDR, 'dev', BRIDGE, 'src', HOST_IP]);
}

/** Removes what {@link isolateBridge}, the CNI plugin and kube-proxy left on the host. */
function teardownNetwork(
  sysctls: Record<string, string> | undefined,
  containerdDir?: string,
): void {
  for (const ns of leftoverPodNetns()) {
    sh('ip', ['netns', 'delete', ns]);
  }
  // Host ends of pod veths still on the bridge.
  for (const line of sh('ip', ['-o', 'link', 'show', 'master', BRIDGE]).stdout.split('\n')) {
    const name = /^\d+: ([^@:]+)/.exec(line)?.[1];
    if (name) sh('ip', ['link', 'delete', name]);
  }
  sh('ip', ['route', 'delete', SERVICE_CIDR]);
  sh('ip', ['link', 'delete', BRIDGE]);
  // kube-proxy's chains (kube-proxy --cleanup removes most; the KUBE-FIREWALL DROP and the
  // kubelet's KUBE-* chains stay), in every table.
  for (const table of ['filter', 'nat', 'mangle', 'raw']) {
    const rules = sh('iptables', ['-t', table, '-S']).stdout.split('\n');
    for (const rule of rules)
      if (/^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|GANGLION-)/.test(rule))
        sh('iptables', ['-t', table, ...rule.replace(/^-A/, '-D').split(' ')]);
    const chains = rules
      .map((r) => /^-N ((KUBE|GANGLION)-\S+)/.exec(r)?.[1])
      .filter((c): c is string => !!c);
    for (const c of chains) sh('iptables', ['-t', table, '-F', c]);
    for (const c of chains) sh('iptables', ['-t', table, '-X', c]);
  }
  // The CNI bridge plugin turns forwarding on; put back what was there.
  if (sysctls) restoreSysctls(sysctls);
  if (containerdDir) unmountUnder(containerdDir);
}

/** Cleans up after an earlier run that was killed before its teardown (recorded in STATE_FILE). */
function cleanupStale(): void {
  if (!existsSync(STATE_FILE)) {
    if (sh('ip', ['link', 'show', BRIDGE]).status === 0) teardownNetwork(undefined);
    return;
  }
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as RecordedState;
  if (state.pid !== process.pid && alive(state.pid))
    throw new MissingPrerequisiteError(
      `another test cluster is running (process ${state.pid}, state in ${state.dir}); one cluster per machine at a time`,
    );
  // Everything but containerd (the first child), then containerd's leftovers, then containerd.
  for (const pid of state.children.slice(1)) stopPid(pid, 3000);
  cleanupContainerd(join(state.dir, 'containerd', 'containerd.sock'));
  stopPid(state.children[0], 3000);
  removeKubepodsCgroups();
  // The control plane (etcd, kube-apiserver) of that run: every process naming its directory.
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(state.apiDir))
        stopPid(Number(p), 3000);
    } catch {
      /* gone */
    }
  }
  teardownNetwork(state.sysctls, join(state.dir, 'containerd'));
  removeLogLinks(state.apiDir);
  unmountUnder(state.apiDir);
  rmSync(state.apiDir, { recursive: true, force: true });
  rmSync(STATE_FILE, { force: true });
}

/**
 * What a torn-down cluster must not leave on the host: the bridge, KUBE-/GANGLION- chains, mounts
 * under `dir`, pod network namespaces. Returns the leftovers (empty when clean).
 */
export function clusterLeftovers(dir: string): string[] {
  const left: string[] = [];
  if (sh('ip', ['link', 'show', BRIDGE]).status === 0) left.push(`bridge ${BRIDGE}`);
  for (const table of ['filter', 'nat', 'mangle', 'raw'])
    for (const r of sh('iptables', ['-t', table, '-S']).stdout.split('\n'))
      if (/^-N (KUBE|GANGLION)-/.test(r)) left.push(`iptables -t ${table} ${r}`);
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const m = l.split(' ')[4];
    if (m && (m === dir || m.startsWith(dir + '/'))) left.push(`mount ${m}`);
  }
  for (const ns of leftoverPodNetns()) left.push(`netns ${ns}`);
  for (const cg of kubepodsCgroups()) left.push(`cgroup ${cg}`);
  if (existsSync(dir)) left.push(`directory ${dir}`);
  return left;
}

let own: Promise<KubeCluster> | undefined;

/**
 * The run's cluster: the one the test runner started (`GANGLION_TEST_CLUSTER`), or, for a test
 * file run on its own, one started for this process and torn down when it exits.
 */
export function kubeCluster(): Promise<KubeCluster> {
  const dir = process.env['GANGLION_TEST_CLUSTER'];
  if (dir) return Promise.resolve(KubeCluster.attach(dir));
  own ??= KubeCluster.start();
  return own;
}
