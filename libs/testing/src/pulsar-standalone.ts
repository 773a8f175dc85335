import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MissingPrerequisiteError } from './kafka-broker.js';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

/** The Pulsar release the tests run (its jars from Maven Central, cached). */
const PULSAR_VERSION = '4.2.4';

function cacheRoot(): string {
  return (
    process.env['GANGLION_CACHE'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'ganglion')
  );
}

function requireTool(cmd: string, args: string[], hint: string): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.error || r.status !== 0)
    throw new MissingPrerequisiteError(`${cmd} is required to run Pulsar locally: ${hint}`);
}

/**
 * Resolves (and caches) the classpath of `org.apache.pulsar:pulsar-broker` with Pulsar's own
 * dependency management imported (its BOM, the `org.apache.pulsar:pulsar` parent): without it,
 * Maven's nearest-wins mediation mixes OpenTelemetry versions and the broker fails to start.
 */
function ensurePulsarJars(version = PULSAR_VERSION): string {
  const dir = join(cacheRoot(), `pulsar-${version}`);
  const lib = join(dir, 'lib');
  if (existsSync(join(lib, `pulsar-broker-${version}.jar`))) return lib;
  requireTool('java', ['-version'], 'install a Java 17+ runtime (Debian: openjdk-17-jre-headless)');
  requireTool('mvn', ['-v'], 'install Apache Maven (Debian: apt-get install maven)');
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, 'fetch-'));
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dev.ganglion</groupId><artifactId>pulsar-runtime</artifactId><version>1</version>
<dependencyManagement><dependencies>
<dependency><groupId>org.apache.pulsar</groupId><artifactId>pulsar</artifactId><version>${version}</version><type>pom</type><scope>import</scope></dependency>
</dependencies></dependencyManagement>
<dependencies>
<dependency><groupId>org.apache.pulsar</groupId><artifactId>pulsar-broker</artifactId><version>${version}</version></dependency>
</dependencies></project>`,
  );
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${join(work, 'lib')}`,
    ],
    { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0)
    throw new MissingPrerequisiteError(
      `mvn could not fetch org.apache.pulsar:pulsar-broker:${version} from Maven Central`,
    );
  rmSync(lib, { recursive: true, force: true });
  renameSync(join(work, 'lib'), lib);
  rmSync(work, { recursive: true, force: true });
  return lib;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * A Pulsar standalone broker (`PulsarStandaloneStarter`: broker, bookie and a RocksDB metadata
 * store in one JVM, no functions worker, no stream storage) on free loopback ports, its data in
 * a temporary directory. Ready in ~25 s.
 */
export class PulsarStandalone {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly webPort: number,
    private readonly dir: string,
  ) {}

  /** `pulsar://127.0.0.1:<port>`. */
  get url(): string {
    return `pulsar://127.0.0.1:${this.port}`;
  }

  /** The admin REST API's base URL. */
  get webUrl(): string {
    return `http://127.0.0.1:${this.webPort}`;
  }

  static async start(options: { heap?: string } = {}): Promise<PulsarStandalone> {
    const lib = ensurePulsarJars();
    const [port, webPort, bookiePort] = [await freePort(), await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-pulsar-'));
    const conf = join(dir, 'standalone.conf');
    writeFileSync(
      conf,
      [
        'clusterName=standalone',
        'bindAddress=127.0.0.1',
        'advertisedAddress=127.0.0.1',
        `brokerServicePort=${port}`,
        `webServicePort=${webPort}`,
        'managedLedgerDefaultEnsembleSize=1',
        'managedLedgerDefaultWriteQuorum=1',
        'managedLedgerDefaultAckQuorum=1',
        'allowAutoTopicCreation=true',
        'allowAutoTopicCreationType=non-partitioned',
        'brokerDeleteInactiveTopicsEnabled=false',
        '',
      ].join('\n'),
    );
    const child = spawn(
      'java',
      [
        `-Xmx${options.heap ?? '768m'}`,
        '-cp',
        `${lib}/*`,
        'org.apache.pulsar.PulsarStandaloneStarter',
        '--config',
        conf,
        '--no-functions-worker',
        '--no-stream-storage',
        '--bookkeeper-dir',
        join(dir, 'bookkeeper'),
        '--metadata-dir',
        join(dir, 'metadata'),
        '--bookkeeper-port',
        String(bookiePort),
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    const server = new PulsarStandalone(child, port, webPort, dir);
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`pulsar exited with ${child.exitCode}`);
          if (!(await listening(port))) return false;
          // The broker answers its admin API once the standalone cluster and tenant exist.
          const res = await fetch(`${server.webUrl}/admin/v2/namespaces/public`).catch(
            () => undefined,
          );
          return res?.ok === true;
        },
        { timeoutMs: 180_000, intervalMs: 500, what: 'pulsar standalone to serve' },
      );
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
