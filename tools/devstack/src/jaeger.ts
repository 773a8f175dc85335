import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  cachedJaegerBinary,
  ensureJaegerBinary,
  freePort,
  Jaeger,
  JAEGER_VERSION,
} from '@ganglion/testing';

/** Jaeger's usual ports: UI and query API, OTLP/HTTP, OTLP/gRPC. */
const DEFAULT_PORTS = { query: 16686, otlpHttp: 4318, otlpGrpc: 4317 } as const;

/** Whether `port` can be listened on at 127.0.0.1 now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function pick(port: number): Promise<number> {
  return (await isFree(port)) ? port : freePort();
}

/**
 * The local stack's Jaeger (`npm start`): its ports are chosen up front (Jaeger's usual ones when
 * free) so that the services export to it from their start; it starts at once when its binary is
 * cached, else after building it in the background (scripts/ensure-jaeger.sh), without holding
 * up the stack. Until it is up, the services' spans are dropped.
 */
export class LocalJaeger {
  private jaeger: Jaeger | undefined;
  private running: Promise<void> | undefined;
  private building = false;
  private stopped = false;
  private readonly abort = new AbortController();

  private constructor(
    private readonly dir: string,
    private readonly ports: { query: number; otlpHttp: number; otlpGrpc: number },
    private readonly say: (line: string) => void,
  ) {}

  /** Chooses the ports (16686, 4318, 4317 unless taken) and prepares `dir` (wiped). */
  static async plan(dir: string, say: (line: string) => void): Promise<LocalJaeger> {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const ports = {
      query: await pick(DEFAULT_PORTS.query),
      otlpHttp: await pick(DEFAULT_PORTS.otlpHttp),
      otlpGrpc: await pick(DEFAULT_PORTS.otlpGrpc),
    };
    return new LocalJaeger(dir, ports, say);
  }

  /** The UI and query API as printed to the user. */
  get uiUrl(): string {
    return `http://localhost:${this.ports.query}`;
  }

  /** What makes a service export its spans to this Jaeger (OTLP/HTTP). */
  get exportEnv(): Record<string, string> {
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${this.ports.otlpHttp}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      // Spans reach Jaeger half a second after the event instead of the SDK's default 5 s.
      OTEL_BSP_SCHEDULE_DELAY: process.env['OTEL_BSP_SCHEDULE_DELAY'] ?? '500',
    };
  }

  private get where(): string {
    return this.ports.query === DEFAULT_PORTS.query
      ? this.uiUrl
      : `${this.uiUrl} (port ${DEFAULT_PORTS.query} is taken)`;
  }

  /** Starts Jaeger in the background; what happens is said through `say`. */
  start(): void {
    this.running = this.run().catch((err: unknown) => {
      if (!this.stopped)
        this.say(`Jaeger did not start, the stack runs without it: ${(err as Error).message}`);
    });
  }

  private async run(): Promise<void> {
    let binary = await cachedJaegerBinary();
    if (!binary) {
      const log = join(this.dir, 'build.log');
      this.building = true;
      this.say(
        `Jaeger ${JAEGER_VERSION} is not built yet: building it from the Go module proxy in the background (once, a few minutes; log: ${log}). The stack does not wait; Jaeger starts when it is built.`,
      );
      const started = Date.now();
      binary = await ensureJaegerBinary({
        onProgress: (line) => appendFileSync(log, `${line}\n`),
        signal: this.abort.signal,
      });
      this.building = false;
      if (this.stopped) return;
      this.say(
        `Jaeger built in ${Math.round((Date.now() - started) / 1000)} s (cached for the next start)`,
      );
    }
    if (this.stopped) return;
    const uiAssets = process.env['GANGLION_JAEGER_UI_ASSETS'];
    this.jaeger = await Jaeger.start({
      binary,
      dir: this.dir,
      queryPort: this.ports.query,
      otlpHttpPort: this.ports.otlpHttp,
      otlpGrpcPort: this.ports.otlpGrpc,
      ...(uiAssets ? { uiAssets } : {}),
      // Jaeger's own warnings and errors only (everything is in its log); the missing UI assets are said in the banner.
      onLine: (line) => {
        if (/\t(warn|error|fatal|panic)\t/i.test(line) && !line.includes('ui assets not embedded'))
          this.say(line);
      },
    });
    if (this.stopped) return this.jaeger.destroy();
    this.say(
      `Jaeger is ready: UI and query API on ${this.where}, OTLP on 127.0.0.1:${this.ports.otlpHttp} (HTTP) and :${this.ports.otlpGrpc} (gRPC); log: ${this.jaeger.logFile}`,
    );
  }

  /** Lines for the stack's "up" message. */
  banner(): string[] {
    const query = `  curl -s '${this.uiUrl}/api/traces?service=ganglion-ingress-webhook&limit=1'`;
    const ui = process.env['GANGLION_JAEGER_UI_ASSETS']
      ? []
      : [
          '(A Jaeger built from the Go module has no UI assets: its page at / is a placeholder; docs/observability.md says how to add the UI.)',
        ];
    if (this.building)
      return [
        `Traces: Jaeger is being built in the background; this log says when it is ready on ${this.where}. Then each event is one trace there (ingress-webhook → sensor → trigger), in its query API:`,
        query,
        ...ui,
      ];
    return [
      `Traces: each event is one trace (ingress-webhook → sensor → trigger) in Jaeger on ${this.where}, in its query API:`,
      query,
      ...ui,
    ];
  }

  /** Stops Jaeger, or the build still running (it starts over at the next `npm start`). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.building) this.say('stopping the Jaeger build (it resumes at the next npm start)');
    this.abort.abort();
    await this.running;
    await this.jaeger?.destroy();
  }
}
