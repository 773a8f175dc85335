import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { homedir, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureAptBinary } from './apt-packages.js';
import { MissingPrerequisiteError } from './kafka-broker.js';
import { PeerProcess } from './peer-process.js';
import { freePort } from './ports.js';
import { REPO_ROOT } from './service-process.js';
import { waitFor } from './wait-for.js';

/**
 * The real peers of the cloud and storage sources, each from a package registry and cached by
 * version under `~/.cache/ganglion/`: ElasticMQ (SQS, Maven Central), Google's pstest (Pub/Sub,
 * Go module proxy, built around a launcher of ours in libs/testing/go/pstest-server), Azurite
 * (Azure Queue Storage, npm) and Debian's OpenSSH server (SFTP). Each listens on loopback only.
 */
const ELASTICMQ_VERSION = '1.6.16';

function cacheRoot(): string {
  return (
    process.env['GANGLION_CACHE'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'ganglion')
  );
}

function requireTool(cmd: string, args: string[], why: string, hint: string): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.error || r.status !== 0)
    throw new MissingPrerequisiteError(`${cmd} is required ${why}: ${hint}`);
}

/** ElasticMQ's runtime classpath from Maven Central, cached by version. */
function ensureElasticMqJars(): string {
  const dir = join(cacheRoot(), `elasticmq-${ELASTICMQ_VERSION}`);
  const libs = join(dir, 'libs');
  if (existsSync(join(libs, `elasticmq-server_2.13-${ELASTICMQ_VERSION}.jar`))) return libs;
  const why = 'to run ElasticMQ (the SQS peer of the tests)';
  requireTool('java', ['-version'], why, 'install a Java 17+ runtime');
  requireTool('mvn', ['-v'], why, 'install Apache Maven (Debian: apt-get install maven)');
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, 'fetch-'));
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dev.ganglion</groupId><artifactId>elasticmq-runtime</artifactId><version>1</version>
<dependencies>
<dependency><groupId>org.elasticmq</groupId><artifactId>elasticmq-server_2.13</artifactId><version>${ELASTICMQ_VERSION}</version></dependency>
</dependencies></project>`,
  );
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${join(work, 'libs')}`,
    ],
    { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0)
    throw new Error(
      `mvn could not fetch org.elasticmq:elasticmq-server_2.13:${ELASTICMQ_VERSION} from Maven Central`,
    );
  rmSync(libs, { recursive: true, force: true });
  renameSync(join(work, 'libs'), libs);
  rmSync(work, { recursive: true, force: true });
  return libs;
}

/** ElasticMQ, an SQS-compatible server, on a free loopback port (in-memory queues). */
export class ElasticMq {
  private constructor(
    private readonly peer: PeerProcess,
    private readonly dir: string,
  ) {}

  /** The SQS endpoint (`endpoint` of an `sqs` EventSource, the SDK's `endpoint`). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.peer.port}`;
  }

  get pid(): number | undefined {
    return this.peer.pid;
  }

  static async start(): Promise<ElasticMq> {
    const libs = ensureElasticMqJars();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-elasticmq-'));
    const conf = join(dir, 'elasticmq.conf');
    writeFileSync(
      conf,
      `include classpath("application.conf")
node-address { protocol = http, host = 127.0.0.1, port = ${port}, context-path = "" }
rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }
rest-stats { enabled = false }
`,
    );
    const peer = await PeerProcess.start(
      'java',
      [
        '-Xms64m',
        '-Xmx256m',
        `-Dconfig.file=${conf}`,
        '-cp',
        `${libs}/*`,
        'org.elasticmq.server.Main',
      ],
      { what: `ElasticMQ ${ELASTICMQ_VERSION}`, port },
    );
    return new ElasticMq(peer, dir);
  }

  async stop(): Promise<void> {
    await this.peer.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Builds a Go program of libs/testing/go/<name> into the cache, keyed by its sources' hash. */
function ensureGoProgram(name: string): string {
  const src = join(REPO_ROOT, 'libs', 'testing', 'go', name);
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(src, f)));
  const dir = join(cacheRoot(), `${name}-${hash.digest('hex').slice(0, 12)}`);
  const bin = join(dir, name);
  if (existsSync(bin)) return bin;
  requireTool(
    'go',
    ['version'],
    `to build ${name}`,
    'install Go 1.24+ (Debian: apt-get install golang)',
  );
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${name}.tmp`);
  const r = spawnSync('go', ['build', '-trimpath', '-o', tmp, '.'], {
    cwd: src,
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0)
    throw new Error(`go build of libs/testing/go/${name} failed (exit ${r.status})`);
  renameSync(tmp, bin);
  return bin;
}

/**
 * Google's in-memory Pub/Sub server for tests (`cloud.google.com/go/pubsub/v2/pstest`) on a free
 * loopback port; clients reach it with `PUBSUB_EMULATOR_HOST` (or the client's `apiEndpoint`).
 */
export class PubSubTestServer {
  private constructor(private readonly peer: PeerProcess) {}

  /** `127.0.0.1:<port>`, the value of `PUBSUB_EMULATOR_HOST`. */
  get host(): string {
    return `127.0.0.1:${this.peer.port}`;
  }

  static async start(): Promise<PubSubTestServer> {
    const bin = ensureGoProgram('pstest-server');
    const port = await freePort();
    const peer = await PeerProcess.start(bin, ['-port', String(port)], {
      what: 'pstest',
      port,
      timeoutMs: 30_000,
    });
    return new PubSubTestServer(peer);
  }

  async stop(): Promise<void> {
    await this.peer.stop();
  }
}

/** Azurite's well-known development account (public, documented by Microsoft). */
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Azurite's queue service (the Azure Storage emulator from npm) on a free loopback port, in memory. */
export class AzuriteQueue {
  private constructor(private readonly peer: PeerProcess) {}

  /** A connection string for `@azure/storage-queue` (an `azureQueueStorage` `connectionString`). */
  get connectionString(): string {
    return (
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `QueueEndpoint=http://127.0.0.1:${this.peer.port}/${AZURITE_ACCOUNT};`
    );
  }

  static async start(): Promise<AzuriteQueue> {
    let main: string;
    try {
      main = join(
        dirname(createRequire(import.meta.url).resolve('azurite/package.json')),
        'dist',
        'src',
        'queue',
        'main.js',
      );
    } catch {
      throw new MissingPrerequisiteError(
        'the npm package azurite is required (a dependency of @ganglion/testing: run pnpm install)',
      );
    }
    const port = await freePort();
    const peer = await PeerProcess.start(
      process.execPath,
      [
        main,
        '--queueHost',
        '127.0.0.1',
        '--queuePort',
        String(port),
        '--inMemoryPersistence',
        '--silent',
        '--skipApiVersionCheck',
        '--disableProductStyleUrl',
      ],
      { what: 'Azurite queue service', port, timeoutMs: 60_000 },
    );
    return new AzuriteQueue(peer);
  }

  async stop(): Promise<void> {
    await this.peer.stop();
  }
}

/** A user's key pair for {@link SftpServer} (OpenSSH format). */
export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
}

/** An ed25519 key pair made with ssh-keygen. */
function sshKeyPair(dir: string, name: string): SshKeyPair {
  const file = join(dir, name);
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8') };
}

/**
 * Debian's OpenSSH server as a private sshd on a free loopback port: its own host key and
 * configuration, public-key login of the current user with a fresh key pair, and the internal
 * SFTP subsystem. Nothing of the machine's own SSH set-up is used or changed.
 */
export class SftpServer {
  private constructor(
    private peer: PeerProcess,
    private readonly dir: string,
    readonly user: string,
    readonly key: SshKeyPair,
  ) {}

  /** `127.0.0.1:<port>` (an `sftp` EventSource's `address`). */
  get address(): string {
    return `127.0.0.1:${this.peer.port}`;
  }

  get port(): number {
    return this.peer.port;
  }

  static async start(): Promise<SftpServer> {
    ensureAptBinary('sshd', 'openssh-server');
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-sshd-'));
    chmodSync(dir, 0o700);
    const hostKey = join(dir, 'host_ed25519');
    sshKeyPair(dir, 'host_ed25519');
    const key = sshKeyPair(dir, 'user_ed25519');
    const authorized = join(dir, 'authorized_keys');
    writeFileSync(authorized, key.publicKey, { mode: 0o600 });
    const port = await freePort();
    const user = userInfo().username;
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorized}`,
        `AllowUsers ${user}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        'Subsystem sftp internal-sftp',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    // sshd insists on an absolute path and on its privilege-separation directory.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    return new SftpServer(await startSshd(config, port), dir, user, key);
  }

  /** Stops the server (dropping every connection) and starts it again on the same port and keys. */
  async restart(): Promise<void> {
    await this.peer.stop();
    this.peer = await startSshd(join(this.dir, 'sshd_config'), this.peer.port);
  }

  async stop(): Promise<void> {
    await this.peer.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function startSshd(config: string, port: number): Promise<PeerProcess> {
  return PeerProcess.start('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
    what: 'sshd',
    port,
    timeoutMs: 30_000,
  });
}

/** The Hadoop release of the HDFS peer (unshaded jars from Maven Central, cached). */
const HADOOP_VERSION = '3.4.2';

/**
 * Hadoop's HDFS (with its test jar, which holds MiniDFSCluster) and its runtime classpath from
 * Maven Central, cached by version. The shaded `hadoop-client-minicluster` jar starts a cluster
 * too, but its relocated Jersey answers every WebHDFS request with 500 then 404.
 */
function ensureHadoopJars(): string {
  const dir = join(cacheRoot(), `hadoop-${HADOOP_VERSION}`);
  const libs = join(dir, 'libs');
  if (existsSync(join(libs, `hadoop-hdfs-${HADOOP_VERSION}-tests.jar`))) return libs;
  const why = 'to run an HDFS mini-cluster (the hdfs peer of the tests)';
  requireTool('java', ['-version'], why, 'install a Java 17+ JDK');
  requireTool('mvn', ['-v'], why, 'install Apache Maven (Debian: apt-get install maven)');
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, 'fetch-'));
  const dep = (a: string, test = false): string =>
    `<dependency><groupId>org.apache.hadoop</groupId><artifactId>${a}</artifactId><version>${HADOOP_VERSION}</version>${test ? '<type>test-jar</type>' : ''}</dependency>`;
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dev.ganglion</groupId><artifactId>hdfs-runtime</artifactId><version>1</version>
<dependencies>${dep('hadoop-hdfs')}${dep('hadoop-hdfs', true)}${dep('hadoop-common')}${dep('hadoop-common', true)}${dep('hadoop-hdfs-client')}</dependencies></project>`,
  );
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${join(work, 'libs')}`,
    ],
    { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0)
    throw new Error(
      `mvn could not fetch org.apache.hadoop:hadoop-hdfs:${HADOOP_VERSION} (and its test jar) from Maven Central`,
    );
  rmSync(libs, { recursive: true, force: true });
  renameSync(join(work, 'libs'), libs);
  rmSync(work, { recursive: true, force: true });
  return libs;
}

/**
 * An HDFS mini-cluster (Hadoop's MiniDFSCluster: one NameNode, one DataNode, launcher
 * libs/testing/java/HdfsMiniCluster.java) with WebHDFS on a free loopback port, and the few
 * WebHDFS calls the tests make to change files in it.
 */
export class HdfsMiniCluster {
  private constructor(
    private readonly peer: PeerProcess,
    private readonly dir: string,
  ) {}

  /** The NameNode's WebHDFS address (`host:port`, an entry of an `hdfs` EventSource's `addresses`). */
  get address(): string {
    return `127.0.0.1:${this.peer.port}`;
  }

  static async start(): Promise<HdfsMiniCluster> {
    const libs = ensureHadoopJars();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-hdfs-'));
    const peer = await PeerProcess.start(
      'java',
      [
        '-Xms64m',
        '-Xmx512m',
        // Hadoop's JAXB (WebHDFS's JSON) defines classes reflectively: Java 17 needs this opened.
        '--add-opens',
        'java.base/java.lang=ALL-UNNAMED',
        '-cp',
        `${libs}/*`,
        join(REPO_ROOT, 'libs', 'testing', 'java', 'HdfsMiniCluster.java'),
        join(dir, 'cluster'),
        String(port),
      ],
      { what: `HDFS mini-cluster ${HADOOP_VERSION}`, port, timeoutMs: 180_000 },
    );
    const hdfs = new HdfsMiniCluster(peer, dir);
    try {
      await waitFor(
        async () => {
          if (!peer.log.includes('GANGLION-HDFS-READY')) return false;
          return (await fetch(hdfs.url('/', 'LISTSTATUS'))).ok;
        },
        { timeoutMs: 180_000, intervalMs: 250, what: 'the HDFS mini-cluster to be active' },
      );
    } catch (err) {
      await hdfs.stop();
      throw err;
    }
    return hdfs;
  }

  private url(path: string, op: string, query = ''): string {
    return `http://${this.address}/webhdfs/v1${path}?op=${op}&user.name=ganglion${query}`;
  }

  private async call(method: string, path: string, op: string, query = ''): Promise<Response> {
    const res = await fetch(this.url(path, op, query), { method, redirect: 'manual' });
    if (res.status >= 400)
      throw new Error(`WebHDFS ${op} ${path}: ${res.status} ${await res.text()}`);
    return res;
  }

  async mkdirs(path: string): Promise<void> {
    await this.call('PUT', path, 'MKDIRS');
  }

  /** Writes `content` to `path` (created or overwritten): the NameNode redirects to the DataNode. */
  async write(path: string, content: string): Promise<void> {
    const res = await this.call('PUT', path, 'CREATE', '&overwrite=true');
    const location = res.headers.get('location');
    if (!location) throw new Error(`WebHDFS CREATE ${path}: no redirect to a DataNode`);
    // The DataNode answers 100 Continue before 201, which fetch (undici) refuses: node:http.
    const put = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(location, { method: 'PUT' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(content);
    });
    if (put.status !== 201)
      throw new Error(`WebHDFS CREATE ${path} at the DataNode: ${put.status} ${put.body}`);
  }

  async remove(path: string): Promise<void> {
    await this.call('DELETE', path, 'DELETE');
  }

  async rename(from: string, to: string): Promise<void> {
    await this.call('PUT', from, 'RENAME', `&destination=${encodeURIComponent(to)}`);
  }

  async stop(): Promise<void> {
    await this.peer.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
