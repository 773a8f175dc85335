import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { createAdmissionServer, reloadCertificate } from '@ganglion/k8s';
import { AdmissionMetrics, type Logger } from '@ganglion/telemetry';
import { HealthService } from './health.service.js';
import { MetricsService } from './metrics.service.js';
import { LOGGER } from './tokens.js';

/** Where and with which certificate the admission webhook serves (parsed by services/admission). */
export interface AdmissionServing {
  port: number;
  host: string;
  /** PEM files of the serving certificate and its key. */
  certFile: string;
  keyFile: string;
  /** How often the files are re-read so that a rotated certificate is served without a restart (ms). */
  certRefreshMs: number;
}

export const ADMISSION_SERVING = Symbol.for('ganglion.admission-serving');

/**
 * Serves the ValidatingWebhookConfiguration's endpoint (`POST /validate`) over TLS and counts
 * each review into `ganglion_admission_*` (served on the metrics port by MetricsService).
 */
@Injectable()
export class AdmissionServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | undefined;
  private stopReloading: (() => void) | undefined;
  private listening = false;
  private readonly metrics: AdmissionMetrics;

  constructor(
    @Inject(ADMISSION_SERVING) private readonly config: AdmissionServing,
    @Inject(LOGGER) private readonly logger: Logger,
    health: HealthService,
    metrics: MetricsService,
  ) {
    health.addReadinessCheck('admission', () => this.listening);
    this.metrics = new AdmissionMetrics(metrics.metrics.registry);
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createAdmissionServer({
      cert: readFileSync(this.config.certFile),
      key: readFileSync(this.config.keyFile),
      host: this.config.host,
      port: this.config.port,
      onReview: (req, res, ms) =>
        this.metrics.reviewed(
          req.kind?.group === 'argoproj.io' ? req.kind.kind : 'other',
          res.allowed,
          ms,
        ),
      onBadRequest: () => this.metrics.badRequests.inc(),
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => resolve());
    });
    this.stopReloading = reloadCertificate(
      server,
      { cert: this.config.certFile, key: this.config.keyFile },
      {
        intervalMs: this.config.certRefreshMs,
        onReload: () => this.logger.info('serving certificate reloaded'),
        onError: (err) =>
          this.logger.warn('serving certificate not reloaded; the previous one stays', {
            error: err,
          }),
      },
    );
    this.listening = true;
    this.logger.info('admission webhook listening', { port: this.config.port, path: '/validate' });
  }

  async onApplicationShutdown(): Promise<void> {
    this.listening = false;
    this.stopReloading?.();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
