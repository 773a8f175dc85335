import { createServer, type Server } from 'node:http';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from '@ganglion/telemetry';
import type { ServiceConfig } from './config.js';
import { CONFIG, LOGGER } from './tokens.js';

/**
 * `/healthz` (alive) and `/readyz` (every registered readiness check passes) on the health
 * port, like Argo's controller (8081). `/readyz?<param>=<value>` asks a scoped check as well
 * (the push ingress: `/readyz?port=12000`, is that port served); a ready answer names what the
 * notes report (the push ingress: ports it cannot bind).
 */
@Injectable()
export class HealthService implements OnModuleInit, OnApplicationShutdown {
  private readonly checks = new Map<string, () => boolean>();
  private readonly liveness = new Map<string, () => string | undefined>();
  private readonly scoped = new Map<string, (value: string) => string | undefined>();
  private readonly notes = new Map<string, () => string | undefined>();
  private server: Server | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Registers a readiness check; the service is ready when all return true. */
  addReadinessCheck(name: string, check: () => boolean): void {
    this.checks.set(name, check);
  }

  /**
   * Registers a scoped readiness check: `/readyz?<param>=<value>` is ready when every readiness
   * check passes and `check(value)` returns undefined (else it returns why not).
   */
  addScopedReadinessCheck(param: string, check: (value: string) => string | undefined): void {
    this.scoped.set(param, check);
  }

  /**
   * Registers a note for the ready answer: what the service does not do although it is ready
   * (undefined: nothing to say).
   */
  addReadinessNote(name: string, note: () => string | undefined): void {
    this.notes.set(name, note);
  }

  /**
   * The `/readyz` answer for a query: 503 with the failed checks or the scoped check's reason,
   * else 200 `ready`, followed by the notes.
   */
  readiness(query: URLSearchParams = new URLSearchParams()): { status: number; body: string } {
    const pending = this.notReady();
    if (pending.length) return { status: 503, body: `not ready: ${pending.join(', ')}` };
    for (const [param, check] of this.scoped) {
      const value = query.get(param);
      if (value === null) continue;
      const why = check(value);
      if (why) return { status: 503, body: `not ready: ${why}` };
    }
    const notes: string[] = [];
    for (const [name, note] of this.notes) {
      const text = note();
      if (text) notes.push(`${name}: ${text}`);
    }
    return { status: 200, body: notes.length ? `ready; ${notes.join('; ')}` : 'ready' };
  }

  /** Registers a liveness check: it returns why the process is not alive, or undefined. */
  addLivenessCheck(name: string, check: () => string | undefined): void {
    this.liveness.set(name, check);
  }

  /** Reasons the process is not alive (empty when alive). */
  notAlive(): string[] {
    const out: string[] = [];
    for (const [name, check] of this.liveness) {
      const why = check();
      if (why) out.push(`${name}: ${why}`);
    }
    return out;
  }

  notReady(): string[] {
    return [...this.checks].filter(([, check]) => !check()).map(([name]) => name);
  }

  async onModuleInit(): Promise<void> {
    if (this.config.healthPort === 0) return;
    this.server = createServer((req, res) => {
      const [path, query] = (req.url ?? '/').split('?', 2);
      if (path === '/healthz' || path === '/livez') {
        const dead = this.notAlive();
        res
          .writeHead(dead.length ? 503 : 200, { 'Content-Type': 'text/plain' })
          .end(dead.length ? `not alive: ${dead.join('; ')}` : 'ok');
      } else if (path === '/readyz') {
        const { status, body } = this.readiness(new URLSearchParams(query ?? ''));
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end(body);
      } else res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.config.healthPort, this.config.host, () => resolve());
    });
    this.logger.info('health endpoints listening', { port: this.config.healthPort });
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
