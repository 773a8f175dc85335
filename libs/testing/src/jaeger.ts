import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MissingPrerequisiteError } from './kafka-broker.js';
import { freePort } from './ports.js';
import { REPO_ROOT } from './service-process.js';
import { waitFor } from './wait-for.js';

/**
 * A real Jaeger (v2, the OpenTelemetry-collector based `cmd/jaeger`) for tests and the local
 * stack: built from the Go module proxy by scripts/ensure-jaeger.sh (cached by version), run
 * all-in-one with in-memory storage on loopback ports from a config file written here. It
 * receives OTLP (HTTP and gRPC) and answers Jaeger's query API (`/api/traces`). Nothing else
 * is started (no sampling, zipkin or Jaeger-protocol receivers, no metrics endpoint), so it
 * opens no other port and makes no outbound connection.
 */
export const JAEGER_VERSION = '1.75.0';

const builds = new Map<string, Promise<string>>();

/**
 * Builds (once, cached under the ganglion cache; parallel callers wait on the script's lock) and
 * locates the Jaeger binary. At most one build per process; the test runner calls it during
 * set-up so that the test files find it cached. `onProgress` receives the script's progress
 * lines (default: this process's stderr);
 * `signal` aborts the build (its process group is killed; the next call starts over).
 */
export function ensureJaegerBinary(
  options: { onProgress?: (line: string) => void; version?: string; signal?: AbortSignal } = {},
): Promise<string> {
  const version = options.version ?? JAEGER_VERSION;
  let build = builds.get(version);
  if (!build) {
    build = runEnsure(version, options.onProgress, [], options.signal);
    builds.set(version, build);
    build.catch(() => builds.delete(version));
  }
  return build;
}

/** The cached Jaeger binary, or undefined when it has not been built yet (never builds). */
export async function cachedJaegerBinary(version = JAEGER_VERSION): Promise<string | undefined> {
  return runEnsure(version, undefined, ['--cached']).catch(() => undefined);
}

function runEnsure(
  version: string,
  onProgress: ((line: string) => void) | undefined,
  args: string[] = [],
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', 'ensure-jaeger.sh'), ...args], {
      env: { ...process.env, JAEGER_VERSION: version },
      stdio: ['ignore', 'pipe', onProgress ? 'pipe' : 'inherit'],
      // Its own process group when it may be aborted, so that the Go build goes with it.
      detached: signal !== undefined,
    });
    const abort = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    signal?.addEventListener('abort', abort, { once: true });
    if (signal) process.once('exit', abort);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const tail: string[] = [];
    if (onProgress) {
      let rest = '';
      child.stderr!.on('data', (b: Buffer) => {
        const parts = (rest + b.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          onProgress(line);
        }
      });
    }
    child.once('error', (err) =>
      reject(
        new MissingPrerequisiteError(`could not run scripts/ensure-jaeger.sh: ${err.message}`),
      ),
    );
    child.once('close', (code) => {
      signal?.removeEventListener('abort', abort);
      process.removeListener('exit', abort);
      const bin = /^JAEGER=(.+)$/m.exec(out)?.[1];
      if (signal?.aborted) reject(new Error('the Jaeger build was stopped'));
      else if (code === 0 && bin) resolve(bin);
      else
        reject(
          new MissingPrerequisiteError(
            `could not prepare Jaeger ${version} (scripts/ensure-jaeger.sh exited with ${code}${tail.length ? `; its last lines:\n${tail.join('\n')}` : ', see its output above'})`,
          ),
        );
    });
  });
}

export interface JaegerOptions {
  /** Address every listener binds to (default 127.0.0.1). */
  host?: string;
  /** Query API and UI port (default: a free port). */
  queryPort?: number;
  /** OTLP/HTTP port (default: a free port). */
  otlpHttpPort?: number;
  /** OTLP/gRPC port (default: a free port). */
  otlpGrpcPort?: number;
  /** Directory for the config file and log (default: a fresh temporary directory, removed on destroy). */
  dir?: string;
  /** Traces kept in memory (default 100 000; the oldest are dropped). */
  maxTraces?: number;
  /**
   * A directory holding a build of the Jaeger UI (jaeger-ui's `build/`): served at `/`. The Go
   * module carries no UI assets, so without it `/` shows Jaeger's placeholder page.
   */
  uiAssets?: string;
  /** An already built binary (default: {@link ensureJaegerBinary}). */
  binary?: string;
  /** Receives each line Jaeger logs (default: the log file only). */
  onLine?: (line: string) => void;
}

/** A span as Jaeger's query API returns it, with its process resolved and its references split. */
export interface JaegerSpan {
  traceId: string;
  spanId: string;
  /** The CHILD_OF reference's span id ('' for a root). */
  parentSpanId: string;
  /** `service.name` of the process that made the span. */
  service: string;
  name: string;
  /** `span.kind` tag: `server`, `client`, `producer`, `consumer` or `internal`. */
  kind: string | undefined;
  /** FOLLOWS_FROM references (OTLP span links). */
  links: { traceId: string; spanId: string }[];
  tags: Record<string, unknown>;
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
}

export interface JaegerTrace {
  traceId: string;
  spans: JaegerSpan[];
}

interface ApiTrace {
  traceID: string;
  spans: {
    traceID: string;
    spanID: string;
    operationName: string;
    references?: { refType: string; traceID: string; spanID: string }[];
    startTime: number;
    duration: number;
    tags?: { key: string; value: unknown }[];
    processID: string;
  }[];
  processes: Record<string, { serviceName: string }>;
}

function fromApi(t: ApiTrace): JaegerTrace {
  return {
    traceId: t.traceID,
    spans: t.spans.map((s) => {
      const tags = Object.fromEntries((s.tags ?? []).map((x) => [x.key, x.value]));
      const refs = s.references ?? [];
      return {
        traceId: s.traceID,
        spanId: s.spanID,
        parentSpanId: refs.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '',
        service: t.processes[s.processID]?.serviceName ?? '',
        name: s.operationName,
        kind: typeof tags['span.kind'] === 'string' ? tags['span.kind'] : undefined,
        links: refs
          .filter((r) => r.refType === 'FOLLOWS_FROM')
          .map((r) => ({ traceId: r.traceID, spanId: r.spanID })),
        tags,
        startTime: s.startTime,
        duration: s.duration,
      };
    }),
  };
}

/** The collector configuration of an all-in-one Jaeger with in-memory storage on the given ports. */
function configYaml(
  host: string,
  ports: { query: number; queryGrpc: number; otlpHttp: number; otlpGrpc: number },
  maxTraces: number,
  uiAssets: string | undefined,
): string {
  return `# Written by libs/testing/src/jaeger.ts: Jaeger all-in-one, in-memory storage, loopback ports only.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${maxTraces}
  jaeger_query:
    storage:
      traces: memstore
${uiAssets ? `    ui:\n      assets_path: ${JSON.stringify(uiAssets)}\n` : ''}    http:
      endpoint: ${host}:${ports.query}
    grpc:
      endpoint: ${host}:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${host}:${ports.otlpGrpc}
      http:
        endpoint: ${host}:${ports.otlpHttp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** A running Jaeger all-in-one (see the module comment). */
export class Jaeger {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output: string[] = [];

  private constructor(
    readonly host: string,
    readonly queryPort: number,
    readonly otlpHttpPort: number,
    readonly otlpGrpcPort: number,
    readonly dir: string,
    private readonly ownsDir: boolean,
  ) {}

  /** The UI and query API, `http://<host>:<query port>`. */
  get queryUrl(): string {
    return `http://${this.host}:${this.queryPort}`;
  }

  /** OTLP/HTTP base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`; traces go to `/v1/traces`). */
  get otlpHttpEndpoint(): string {
    return `http://${this.host}:${this.otlpHttpPort}`;
  }

  /** OTLP/gRPC endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`). */
  get otlpGrpcEndpoint(): string {
    return `http://${this.host}:${this.otlpGrpcPort}`;
  }

  /** The environment that makes a Ganglion service export its spans here (OTLP/HTTP, protobuf). */
  get exportEnv(): Record<string, string> {
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: this.otlpHttpEndpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Path of Jaeger's own log. */
  get logFile(): string {
    return join(this.dir, 'jaeger.log');
  }

  /** Ensures the binary (see {@link ensureJaegerBinary}), starts Jaeger and waits until it receives and answers. */
  static async start(options: JaegerOptions = {}): Promise<Jaeger> {
    const binary = options.binary ?? (await ensureJaegerBinary());
    const host = options.host ?? '127.0.0.1';
    const ports = {
      query: options.queryPort ?? (await freePort(host)),
      queryGrpc: await freePort(host),
      otlpHttp: options.otlpHttpPort ?? (await freePort(host)),
      otlpGrpc: options.otlpGrpcPort ?? (await freePort(host)),
    };
    const ownsDir = !options.dir;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ganglion-jaeger-'));
    mkdirSync(dir, { recursive: true });
    const jaeger = new Jaeger(host, ports.query, ports.otlpHttp, ports.otlpGrpc, dir, ownsDir);
    const config = join(dir, 'config.yaml');
    writeFileSync(config, configYaml(host, ports, options.maxTraces ?? 100_000, options.uiAssets));
    jaeger.spawn(binary, config, options.onLine);
    try {
      await waitFor(
        async () => {
          if (!jaeger.child)
            throw new Error(
              `jaeger exited during start-up; its last lines:\n${jaeger.output.slice(-20).join('\n')}`,
            );
          // Extensions start before the pipeline: wait for both the query API and the OTLP receiver.
          const query = await fetch(`${jaeger.queryUrl}/api/services`).catch(() => undefined);
          if (query?.status !== 200) return false;
          const otlp = await fetch(`${jaeger.otlpHttpEndpoint}/v1/traces`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: '{}',
          }).catch(() => undefined);
          return otlp?.status === 200;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 100,
          what: `Jaeger on ${jaeger.queryUrl} (log: ${jaeger.logFile})`,
        },
      );
    } catch (err) {
      await jaeger.destroy();
      throw err;
    }
    return jaeger;
  }

  private spawn(
    binary: string,
    config: string,
    onLine: ((line: string) => void) | undefined,
  ): void {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(binary, ['--config', config], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let rest = '';
    const onData = (b: Buffer): void => {
      log.write(b);
      const parts = (rest + b.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        this.output.push(line);
        if (this.output.length > 200) this.output.splice(0, 100);
        onLine?.(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) =>
      onData(Buffer.from(`could not start ${binary}: ${err.message}\n`)),
    );
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        log.end();
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    // Unreferenced, so that a test process ends when its tests do; the 'exit' hook kills Jaeger.
    child.unref();
    for (const stream of [child.stdout, child.stderr])
      (stream as { unref?: () => void } | null)?.unref?.();
    const kill = (): void => {
      child.kill('SIGKILL');
      if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
    };
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
  }

  private async get<T>(path: string): Promise<{ status: number; body: T | undefined }> {
    const res = await fetch(`${this.queryUrl}${path}`);
    const text = await res.text();
    return { status: res.status, body: res.status === 200 ? (JSON.parse(text) as T) : undefined };
  }

  /** Service names Jaeger has spans of (`/api/services`). */
  async services(): Promise<string[]> {
    const { status, body } = await this.get<{ data: string[] | null }>('/api/services');
    if (status !== 200) throw new Error(`Jaeger /api/services answered ${status}`);
    return body?.data ?? [];
  }

  /** Traces with spans of `service` (`/api/traces?service=...`), newest first, at most `limit`. */
  async traces(
    service: string,
    options: { limit?: number; operation?: string } = {},
  ): Promise<JaegerTrace[]> {
    const q = new URLSearchParams({ service, limit: String(options.limit ?? 100), lookback: '1h' });
    if (options.operation) q.set('operation', options.operation);
    const { status, body } = await this.get<{ data: ApiTrace[] | null }>(
      `/api/traces?${q.toString()}`,
    );
    if (status !== 200) throw new Error(`Jaeger /api/traces?${q.toString()} answered ${status}`);
    return (body?.data ?? []).map(fromApi);
  }

  /** One trace by id (`/api/traces/<id>`), or undefined when Jaeger has none. */
  async trace(traceId: string): Promise<JaegerTrace | undefined> {
    const { status, body } = await this.get<{ data: ApiTrace[] | null }>(`/api/traces/${traceId}`);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`Jaeger /api/traces/${traceId} answered ${status}`);
    const t = body?.data?.[0];
    return t ? fromApi(t) : undefined;
  }

  /** Stops Jaeger (SIGTERM, SIGKILL after 10 s) and removes its directory if it made it. */
  async destroy(): Promise<void> {
    const child = this.child;
    if (child) {
      child.ref();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await this.exited;
      clearTimeout(timer);
    }
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
