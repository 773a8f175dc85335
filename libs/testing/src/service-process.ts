import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { waitFor } from './wait-for.js';

/** The repository root (this file lives in libs/testing/dist/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const SERVICES = ['reconciler', 'ingress-webhook', 'sensor', 'trigger'] as const;
/**
 * The services of the local stack, those that only run in a cluster (admission), and the ingress
 * service of each source type (`ingress-<type>`, generated from libs/api's SOURCE_KINDS).
 */
export type ServiceName = (typeof SERVICES)[number] | 'admission' | `ingress-${string}`;

export interface ServiceProcessOptions {
  env: Record<string, string>;
  /** Health port the service serves /readyz on. */
  healthPort: number;
  /** Port of the service's Prometheus `/metrics` (default 0: not served, so parallel stacks never collide). */
  metricsPort?: number;
  /** Receives each output line (stdout and stderr). */
  onLine?: (line: string) => void;
}

/** The telemetry preload every service starts with (OpenTelemetry's ESM loader hook and SDK). */
const TELEMETRY_REGISTER = pathToFileURL(
  join(REPO_ROOT, 'libs', 'telemetry', 'dist', 'register.js'),
).href;

/**
 * The node flags the service's chart gives it in production (`nodeOptions` in
 * charts/<name>/values.yaml, set as NODE_OPTIONS: the V8 heap limits), so that what the tests
 * and benchmarks measure is what runs in a cluster. Empty when the chart has none.
 */
function chartNodeOptions(name: string): string[] {
  let values: string;
  try {
    values = readFileSync(join(REPO_ROOT, 'charts', name, 'values.yaml'), 'utf8');
  } catch {
    return [];
  }
  const m = /^nodeOptions:\s*['"]?([^'"\n#]*)['"]?/m.exec(values);
  return m ? m[1]!.split(' ').filter(Boolean) : [];
}

/**
 * The file that starts a service: its bundle (dist/bundle/<name>.js, scripts/bundle.mjs), as the
 * image runs it; `GANGLION_BUNDLE=0` runs the TypeScript build's services/<name>/dist/main.js
 * instead (the same code, one module file each: for a stack trace with source maps, or to compare).
 */
function serviceMain(name: ServiceName): string {
  return process.env['GANGLION_BUNDLE'] === '0'
    ? join(REPO_ROOT, 'services', name, 'dist', 'main.js')
    : join(REPO_ROOT, 'dist', 'bundle', `${name}.js`);
}

/**
 * A Ganglion service running as its own OS process
 * (`node <chart's nodeOptions> --import <telemetry register> dist/bundle/<name>.js`), as in
 * production. Keeps its output lines for assertions.
 */
export class ServiceProcess {
  readonly lines: string[] = [];
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: ServiceName,
    private readonly options: ServiceProcessOptions,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** URL of a path on the service's health port (`/healthz`, `/readyz`). */
  healthUrl(path: string): string {
    return `http://127.0.0.1:${this.options.healthPort}${path}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): this {
    const child = spawn(
      process.execPath,
      [
        // As the image's entrypoint starts it (no --enable-source-maps: GANGLION_SERVICE_NODE_ARGS
        // can add it), with its chart's heap limits.
        '--disable-warning=TimeoutNegativeWarning',
        ...chartNodeOptions(this.name),
        ...(process.env['GANGLION_SERVICE_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
        '--import',
        TELEMETRY_REGISTER,
        serviceMain(this.name),
      ],
      {
        env: {
          ...process.env,
          GANGLION_METRICS_PORT: String(this.options.metricsPort ?? 0),
          ...this.options.env,
          GANGLION_HEALTH_PORT: String(this.options.healthPort),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    const onData = (buf: Buffer, carry: { rest: string }): void => {
      const text = carry.rest + buf.toString('utf8');
      const parts = text.split('\n');
      carry.rest = parts.pop() ?? '';
      for (const line of parts) {
        this.lines.push(line);
        if (this.lines.length > 50_000) this.lines.splice(0, 10_000);
        this.options.onLine?.(line);
      }
    };
    const out = { rest: '' };
    const err = { rest: '' };
    child.stdout?.on('data', (b: Buffer) => onData(b, out));
    child.stderr?.on('data', (b: Buffer) => onData(b, err));
    this.exit = new Promise((resolve) =>
      child.once('exit', (code) => {
        if (this.child === child) this.child = undefined;
        resolve(code);
      }),
    );
    // Unreferenced, so that a test file whose set-up failed half-way (before its cleanup knew
    // of this process) still ends; the 'exit' hook then kills the service.
    child.unref();
    for (const stream of [child.stdout, child.stderr])
      (stream as { unref?: () => void } | null)?.unref?.();
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    return this;
  }

  /** Waits until `/readyz` answers 200; fails at once if the process exits, with its last lines. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const tail = (): string => this.lines.slice(-20).join('\n');
    const state = await waitFor(
      async () => {
        if (!this.child) return 'exited';
        const res = await fetch(`http://127.0.0.1:${this.options.healthPort}/readyz`).catch(
          () => undefined,
        );
        return res?.status === 200 ? 'ready' : undefined;
      },
      { timeoutMs, intervalMs: 50, what: `${this.name} to be ready` },
    ).catch((err: unknown) => {
      // Say why: the service's last lines (the probe's own failure says only that it timed out).
      throw new Error(`${(err as Error).message}; its last lines:\n${tail()}`, { cause: err });
    });
    if (state === 'exited')
      throw new Error(`${this.name} exited before it was ready; its last lines:\n${tail()}`);
  }

  /** The exit code once the process has ended by itself (null: killed by a signal). */
  exited(): Promise<number | null> {
    return this.exit;
  }

  /** Sends a signal and waits for the process to end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await this.exit;
    clearTimeout(timer);
    return code;
  }

  /** Parsed JSON log lines (others skipped). */
  records(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.lines) {
      if (!l.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not a log record
      }
    }
    return out;
  }
}
