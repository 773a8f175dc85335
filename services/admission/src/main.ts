import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, HeapCompactor } from '@ganglion/nest';
import { createLogger } from '@ganglion/telemetry';
import { parseAdmissionConfig, type AdmissionConfig } from './admission.config.js';
import { AdmissionModule } from './app.module.js';

const log = createLogger('admission');
let config: AdmissionConfig;
try {
  config = parseAdmissionConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  log.error(`configuration error: ${err.message}`);
  process.exit(2);
}
try {
  const app = await NestFactory.createApplicationContext(AdmissionModule.create(config), {
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks();
  log.info('ready');
  new HeapCompactor({
    afterStartSeconds: config.service.heapCompactionSeconds,
    logger: log,
  }).start();
} catch (err) {
  log.error('start-up failed', { error: err });
  process.exit(1);
}
