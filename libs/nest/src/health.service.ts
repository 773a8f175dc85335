import { createServer, type Server } from 'node:http';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from '@ganglion/telemetry';
import type { ServiceConfig } from './config.js';
import { CONFIG, LOGGER } from './tokens.js';

/**
 * `/healthz` (alive) and `/readyz` (every registered readiness check passes) on the health
 * port, like Argo's controller (8081).
 */
@Injectable()
export class HealthService implements OnModuleInit, OnApplicationShutdown {
  private readonly checks = new Map<string, () => boolean>();
  private readonly liveness = new Map<string, () => string | undefined>();
  private server: Server | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Registers a readiness check; the service is ready when all return true. */
  addReadinessCheck(name: string, check: () => boolean): void {
    this.checks.set(name, check);
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
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz' || path === '/livez') {
        const dead = this.notAlive();
        res
          .writeHead(dead.length ? 503 : 200, { 'Content-Type': 'text/plain' })
          .end(dead.length ? `not alive: ${dead.join('; ')}` : 'ok');
      } else if (path === '/readyz') {
        const pending = this.notReady();
        res
          .writeHead(pending.length ? 503 : 200, { 'Content-Type': 'text/plain' })
          .end(pending.length ? `not ready: ${pending.join(', ')}` : 'ready');
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
