import { Module, type DynamicModule } from '@nestjs/common';
import {
  ADMISSION_SERVING,
  AdmissionServer,
  CONFIG,
  HealthService,
  LOGGER,
  MetricsService,
} from '@ganglion/nest';
import { createLogger } from '@ganglion/telemetry';
import type { AdmissionConfig } from './admission.config.js';

@Module({})
export class AdmissionModule {
  static create(config: AdmissionConfig): DynamicModule {
    const logger = createLogger(
      'admission',
      { level: config.service.logLevel },
      { instance: config.service.instanceId },
    );
    return {
      module: AdmissionModule,
      providers: [
        { provide: ADMISSION_SERVING, useValue: config },
        { provide: CONFIG, useValue: config.service },
        { provide: LOGGER, useValue: logger },
        HealthService,
        MetricsService,
        AdmissionServer,
      ],
    };
  }
}
