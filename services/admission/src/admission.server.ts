import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createAdmissionServer } from '@ganglion/k8s';
import { HealthService, LOGGER } from '@ganglion/nest';
import type { Logger } from '@ganglion/telemetry';
import type { AdmissionConfig } from './admission.config.js';

export const ADMISSION_CONFIG = Symbol.for('ganglion.admission-config');

/** Serves the ValidatingWebhookConfiguration's endpoint (`POST /validate`) over TLS. */
@Injectable()
export class AdmissionServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | undefined;
  private listening = false;

  constructor(
    @Inject(ADMISSION_CONFIG) private readonly config: AdmissionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    health: HealthService,
  ) {
    health.addReadinessCheck('admission', () => this.listening);
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createAdmissionServer({ cert: readFileSync(this.config.certFile), key: readFileSync(this.config.keyFile), host: this.config.host, port: this.config.port });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => resolve());
    });
    this.listening = true;
    this.logger.info('admission webhook listening', { port: this.config.port, path: '/validate' });
  }

  async onApplicationShutdown(): Promise<void> {
    this.listening = false;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
