import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  createWriteStream,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

export class MissingPrerequisiteError extends Error {}

/**
 * A real Apache Kafka broker (KRaft, single node: broker + controller in one JVM) for tests
 * and the local stack. The jars come from Maven Central (`org.apache.kafka:kafka_2.13`) and
 * are cached; the broker listens on a free loopback port. `KAFKA_VERSION` picks the version
 * (default 3.9.1; 4.x is tested with 4.4.0, see README "Kafka versions").
 */
const DEFAULT_KAFKA_VERSION = '3.9.1';

function kafkaVersion(wanted?: string): string {
  const version = wanted || process.env['KAFKA_VERSION'] || DEFAULT_KAFKA_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new MissingPrerequisiteError(
      `Kafka version ${version} (KAFKA_VERSION, or the broker's version option) is not a release version (x.y.z, e.g. 3.9.1 or 4.4.0)`,
    );
  return version;
}

/** Kafka 4 logs through log4j 2 (Kafka 3 through reload4j, configured with log4j 1 properties). */
const usesLog4j2 = (version: string): boolean => Number(version.split('.')[0]) >= 4;

function cacheRoot(): string {
  return (
    process.env['GANGLION_CACHE'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'ganglion')
  );
}

function requireTool(cmd: string, args: string[], hint: string): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.error || r.status !== 0)
    throw new MissingPrerequisiteError(`${cmd} is required to run Kafka locally: ${hint}`);
}

/** Resolves (and caches) the broker's runtime classpath directory. Idempotent. */
function ensureKafkaJars(version: string): string {
  const dir = join(cacheRoot(), `kafka-${version}`);
  const libs = join(dir, 'libs');
  if (existsSync(join(libs, `kafka_2.13-${version}.jar`))) return libs;
  requireTool(
    'java',
    ['-version'],
    'install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)',
  );
  requireTool('mvn', ['-v'], 'install Apache Maven (Debian: apt-get install maven)');
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, 'fetch-'));
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dev.ganglion</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
<dependencies>
<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
${
  usesLog4j2(version)
    ? `<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.25.5</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>`
    : `<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>`
}
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
      `mvn could not fetch org.apache.kafka:kafka_2.13:${version} from Maven Central`,
    );
  rmSync(libs, { recursive: true, force: true });
  renameSync(join(work, 'libs'), libs);
  rmSync(work, { recursive: true, force: true });
  return libs;
}

export interface KafkaBrokerOptions {
  /** Broker port (default: a free loopback port). */
  port?: number;
  /**
   * Address the client listener binds to and advertises (default 127.0.0.1), e.g. a test
   * cluster's pod bridge address so that pods reach the broker (the controller stays on loopback).
   */
  host?: string;
  /** Directory for data and logs (default: a fresh temporary directory, removed on stop). */
  dataDir?: string;
  /** JVM heap, e.g. `512m`. */
  heap?: string;
  /** Write the broker's own log here (default: `<dataDir>/server.log`). */
  logFile?: string;
  /** More `server.properties` entries (they override the defaults above them). */
  properties?: Record<string, string>;
  /**
   * Log every completed request (Kafka's `kafka.request.logger` at DEBUG, one JSON line each) to
   * this file: for counting requests by API and client (`countRequests`). Costs broker CPU.
   */
  requestLog?: string;
  /**
   * Also listen with SASL_SSL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and with SSL requiring a
   * client certificate (mutual TLS), on two more loopback ports: certificates are made by
   * openssl into `<dataDir>/tls` (a CA, the broker's with SAN 127.0.0.1 and localhost, a client's,
   * and a second CA nobody signed with), SCRAM users are created by the broker's own storage
   * tool when formatting, PLAIN users are in the listener's JAAS config. See {@link SecureListeners}.
   */
  secure?: boolean;
  /** The Kafka release, e.g. `4.4.0` (default: `KAFKA_VERSION`, else 3.9.1). */
  version?: string;
  /**
   * Log the group and transaction coordinators at INFO (loading, transaction aborts and
   * markers) into the broker's log, for {@link KafkaBroker.transactionDiagnostics}.
   */
  coordinatorLog?: boolean;
}

/** A user of the secure listeners (the same name and password for every SASL mechanism). */
interface BrokerUser {
  username: string;
  password: string;
}

/** What a client needs to reach a broker's secure listeners (`KafkaBrokerOptions.secure`). */
interface SecureListeners {
  /** `127.0.0.1:<port>` of the SASL_SSL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). */
  saslSsl: string;
  /** `127.0.0.1:<port>` of the SSL listener that requires a client certificate. */
  mtls: string;
  /** PEM files: the CA that signed the broker's and the client's certificates, etc. */
  files: { ca: string; untrustedCa: string; clientCert: string; clientKey: string };
  /** PEM texts of the same files. */
  ca: string;
  untrustedCa: string;
  clientCert: string;
  clientKey: string;
  /** A user known to every mechanism. */
  user: BrokerUser;
  /** A second user, also known to every mechanism. */
  other: BrokerUser;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error)
    throw new MissingPrerequisiteError(
      'openssl is required for a broker with TLS listeners (Debian: apt-get install openssl)',
    );
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** A CA, a broker certificate (SAN 127.0.0.1, localhost), a client certificate, an unrelated CA. */
function makeCertificates(dir: string): SecureListeners['files'] {
  mkdirSync(dir, { recursive: true });
  const subj = (cn: string): string[] => ['-subj', `/CN=${cn}`];
  const newCa = (name: string): void =>
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '7',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        ...subj(`ganglion test ${name}`),
      ],
      dir,
    );
  newCa('ca');
  newCa('untrusted-ca');
  const signed = (name: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        ...subj(name),
      ],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '7',
        '-out',
        `${name}.crt`,
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  signed('broker', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  signed('client', 'extendedKeyUsage=clientAuth\n');
  // Kafka's PEM key store: the private key (PKCS#8, unencrypted) followed by the certificate.
  writeFileSync(
    join(dir, 'broker-keystore.pem'),
    readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.crt'), 'utf8'),
  );
  return {
    ca: join(dir, 'ca.pem'),
    untrustedCa: join(dir, 'untrusted-ca.pem'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

/** Requests by API name and client id in a stretch of a broker's request log (`requestLog`). */
export function countRequests(lines: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of lines.matchAll(/"clientId":"([^"]*)","requestApiKeyName":"([A-Z_]+)"/g)) {
    const key = `${m[2]} ${m[1]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** A running (or stopped, restartable) single-node Kafka broker. */
export class KafkaBroker {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private constructor(
    readonly port: number,
    private readonly controllerPort: number,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    private readonly classpath: string,
    /** The Kafka release the broker runs (`KAFKA_VERSION`). */
    readonly version: string,
    private readonly heap: string,
    private readonly logFile: string,
    private readonly properties: Record<string, string> = {},
    private readonly requestLog?: string,
    /** The secure listeners' ports (with `secure`). */
    private readonly securePorts?: { saslSsl: number; mtls: number },
    readonly host = '127.0.0.1',
    private readonly coordinatorLog = false,
  ) {}

  private secureInfo: SecureListeners | undefined;

  /** The secure listeners (only for a broker started with `secure`). */
  get secure(): SecureListeners {
    if (!this.secureInfo) throw new Error('this broker was started without secure listeners');
    return this.secureInfo;
  }

  /** `host:port` for clients. */
  get brokers(): string {
    return `${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /**
   * For a failing test's log: the broker's own log lines about transactions and the group and
   * transaction coordinators (loading, markers, aborts), the last `max` of them; and on Kafka 3.x
   * (whose runtime has `kafka.tools.DumpLogSegments`) the transactional batches and markers of
   * the `__consumer_offsets` partitions that have any, as the log holds them.
   */
  transactionDiagnostics(max = 80): string {
    const out: string[] = [];
    const log = existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').split('\n') : [];
    out.push(
      '--- broker log (transactions, coordinators):',
      ...log
        .filter((l) =>
          /[Tt]ransaction|Coordinator|GroupMetadataManager|Loaded|Loading|marker/.test(l),
        )
        .slice(-max),
    );
    if (!usesLog4j2(this.version)) {
      for (let p = 0; p < 50; p++) {
        const dir = join(this.dataDir, `__consumer_offsets-${p}`);
        const segment = join(dir, '00000000000000000000.log');
        if (!existsSync(segment)) continue;
        const r = spawnSync(
          'java',
          [
            '-cp',
            `${this.classpath}/*`,
            'kafka.tools.DumpLogSegments',
            '--files',
            segment,
            '--offsets-decoder',
            '--deep-iteration',
          ],
          { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
        );
        const lines = (r.stdout ?? '')
          .split('\n')
          .filter((l) => /isTransactional: true|endTxnMarker|isControl: true/.test(l));
        if (lines.length)
          out.push(
            `--- __consumer_offsets-${p} (transactional batches, markers):`,
            ...lines.slice(-max),
          );
      }
    }
    return out.join('\n');
  }

  /** The broker's JVM process id while it runs (for CPU and memory figures in benchmarks). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  static async start(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
    const version = kafkaVersion(options.version);
    const classpath = ensureKafkaJars(version);
    const port = options.port ?? (await freePort());
    const controllerPort = await freePort();
    const ownsDataDir = !options.dataDir;
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ganglion-kafka-'));
    mkdirSync(dataDir, { recursive: true });
    const broker = new KafkaBroker(
      port,
      controllerPort,
      dataDir,
      ownsDataDir,
      classpath,
      version,
      options.heap ?? '768m',
      options.logFile ?? join(dataDir, 'server.log'),
      options.properties,
      options.requestLog,
      options.secure ? { saslSsl: await freePort(), mtls: await freePort() } : undefined,
      options.host,
      options.coordinatorLog,
    );
    broker.configure();
    await broker.resume();
    return broker;
  }

  private get propsFile(): string {
    return join(this.dataDir, 'server.properties');
  }

  /** `server.properties` lines of the secure listeners, and the storage tool's SCRAM arguments. */
  private secureConfig(): {
    listeners: string[];
    advertised: string[];
    lines: string[];
    scram: string[];
  } {
    const ports = this.securePorts;
    if (!ports) return { listeners: [], advertised: [], lines: [], scram: [] };
    const files = makeCertificates(join(this.dataDir, 'tls'));
    const user = { username: 'ganglion', password: 'ganglion-secret' };
    const other = { username: 'other', password: 'other-secret' };
    const text = (f: string): string => readFileSync(f, 'utf8');
    this.secureInfo = {
      saslSsl: `127.0.0.1:${ports.saslSsl}`,
      mtls: `127.0.0.1:${ports.mtls}`,
      files,
      ca: text(files.ca),
      untrustedCa: text(files.untrustedCa),
      clientCert: text(files.clientCert),
      clientKey: text(files.clientKey),
      user,
      other,
    };
    const dir = join(this.dataDir, 'tls');
    const plainUsers = [user, other].map((u) => `user_${u.username}="${u.password}"`).join(' ');
    const listeners = [`SASL_SSL://127.0.0.1:${ports.saslSsl}`, `SSL://127.0.0.1:${ports.mtls}`];
    return {
      listeners,
      advertised: listeners,
      lines: [
        'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
        `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
        'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        'ssl.keystore.type=PEM',
        `ssl.keystore.location=${join(dir, 'broker-keystore.pem')}`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${files.ca}`,
        'listener.name.ssl.ssl.client.auth=required',
      ],
      scram: [user, other].flatMap((u) =>
        ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
          '--add-scram',
          `${m}=[name=${u.username},password=${u.password}]`,
        ]),
      ),
    };
  }

  private configure(): void {
    const logDir = join(this.dataDir, 'data');
    const secure = this.secureConfig();
    writeFileSync(
      this.propsFile,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${this.controllerPort}`,
        `listeners=${[`PLAINTEXT://${this.host}:${this.port}`, `CONTROLLER://127.0.0.1:${this.controllerPort}`, ...secure.listeners].join(',')}`,
        `advertised.listeners=${[`PLAINTEXT://${this.host}:${this.port}`, ...secure.advertised].join(',')}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL',
        ...secure.lines,
        `log.dirs=${logDir}`,
        'num.partitions=1',
        'auto.create.topics.enable=false',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=4',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=4',
        'group.initial.rebalance.delay.ms=0',
        'log.cleaner.dedupe.buffer.size=16777216',
        'log.flush.interval.messages=9223372036854775807',
        ...Object.entries(this.properties).map(([k, v]) => `${k}=${v}`),
        '',
      ].join('\n'),
    );
    if (usesLog4j2(this.version)) this.writeLog4j2Config();
    else
      writeFileSync(
        join(this.dataDir, 'log4j.properties'),
        [
          'log4j.rootLogger=WARN, stdout',
          'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
          'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
          'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
          'log4j.logger.kafka.server.KafkaRaftServer=INFO',
          ...(this.coordinatorLog
            ? [
                'log4j.logger.kafka.coordinator=INFO',
                'log4j.logger.org.apache.kafka.coordinator=INFO',
              ]
            : []),
          ...(this.requestLog
            ? [
                'log4j.appender.requests=org.apache.log4j.FileAppender',
                `log4j.appender.requests.File=${this.requestLog}`,
                'log4j.appender.requests.layout=org.apache.log4j.PatternLayout',
                'log4j.appender.requests.layout.ConversionPattern=%m%n',
                'log4j.logger.kafka.request.logger=DEBUG, requests',
                'log4j.additivity.kafka.request.logger=false',
              ]
            : []),
          '',
        ].join('\n'),
      );
    // A base64url id starting with '-' would be parsed as an option by kafka-storage (1 in 64).
    let clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    const format = spawnSync(
      'java',
      [
        '-cp',
        `${this.classpath}/*`,
        this.logConfigFlag(),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        this.propsFile,
        '--ignore-formatted',
        ...secure.scram,
      ],
      { encoding: 'utf8' },
    );
    if (format.status !== 0)
      throw new Error(`kafka storage format failed: ${format.stderr || format.stdout}`);
  }

  /** The JVM flag that points the broker's logging at the configuration {@link configure} wrote. */
  private logConfigFlag(): string {
    return usesLog4j2(this.version)
      ? `-Dlog4j2.configurationFile=file:${join(this.dataDir, 'log4j2.properties')}`
      : `-Dlog4j.configuration=file:${join(this.dataDir, 'log4j.properties')}`;
  }

  /** Kafka 4's logging (log4j 2): warnings, the start-up line, and the request log if asked. */
  private writeLog4j2Config(): void {
    writeFileSync(
      join(this.dataDir, 'log4j2.properties'),
      [
        'status = warn',
        'appender.stdout.type = Console',
        'appender.stdout.name = STDOUT',
        'appender.stdout.layout.type = PatternLayout',
        'appender.stdout.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = WARN',
        'rootLogger.appenderRef.stdout.ref = STDOUT',
        'logger.raft.name = kafka.server.KafkaRaftServer',
        'logger.raft.level = INFO',
        ...(this.coordinatorLog
          ? [
              'logger.coordinator.name = kafka.coordinator',
              'logger.coordinator.level = INFO',
              'logger.groupcoordinator.name = org.apache.kafka.coordinator',
              'logger.groupcoordinator.level = INFO',
            ]
          : []),
        ...(this.requestLog
          ? [
              'appender.requests.type = File',
              'appender.requests.name = REQUESTS',
              `appender.requests.fileName = ${this.requestLog}`,
              'appender.requests.layout.type = PatternLayout',
              'appender.requests.layout.pattern = %m%n',
              'logger.requests.name = kafka.request.logger',
              'logger.requests.level = DEBUG',
              'logger.requests.additivity = false',
              'logger.requests.appenderRef.requests.ref = REQUESTS',
            ]
          : []),
        '',
      ].join('\n'),
    );
  }

  /** Starts (or restarts after {@link stop}) the broker on the same port and data. */
  async resume(): Promise<void> {
    if (this.child) return;
    const out = createWriteStream(this.logFile, { flags: 'a' });
    let started = false;
    let output = '';
    const child = spawn(
      'java',
      [
        `-Xms256m`,
        `-Xmx${this.heap}`,
        ...(process.env['GANGLION_KAFKA_JVM_OPTS']?.split(' ').filter(Boolean) ?? ['-XX:+UseG1GC']),
        '-Djava.awt.headless=true',
        this.logConfigFlag(),
        '-cp',
        `${this.classpath}/*`,
        'kafka.Kafka',
        this.propsFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const onData = (chunk: Buffer): void => {
      out.write(chunk);
      if (!started) {
        output += chunk.toString();
        if (output.includes('Kafka Server started')) started = true;
        if (output.length > 65536) output = output.slice(-32768);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        out.end();
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    // Unreferenced, so a test process that started its own broker ends when its tests do;
    // the 'exit' hook kills the JVM (and removes a data directory this broker created).
    child.unref();
    (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    const kill = (): void => {
      child.kill('SIGKILL');
      if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    };
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    await waitFor(
      () => {
        if (this.child !== child)
          throw new Error(`broker exited during start-up: ${output.slice(-2000)}`);
        return started;
      },
      { timeoutMs: 90_000, intervalMs: 50, what: `Kafka broker on port ${this.port}` },
    );
  }

  /**
   * Lets the test process end while the broker runs (it is then stopped on `beforeExit`, see
   * shared-kafka.ts, or killed on `exit`); {@link ref} undoes it.
   */
  unref(): void {
    this.child?.unref();
    for (const stream of [this.child?.stdout, this.child?.stderr])
      (stream as { unref?: () => void } | null | undefined)?.unref?.();
  }

  ref(): void {
    this.child?.ref();
    for (const stream of [this.child?.stdout, this.child?.stderr])
      (stream as { ref?: () => void } | null | undefined)?.ref?.();
  }

  /** Stops the JVM (SIGTERM, then SIGKILL after 20 s); the data stays for {@link resume}. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stops the broker and removes its data directory if this broker created it. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
