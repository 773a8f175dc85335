import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createLogger } from '@ganglion/telemetry';
import { ConfigError, parseServiceConfig, type ServiceConfig } from './config.js';

/**
 * Starts a service as a Nest application context (no Nest HTTP adapter: the data plane owns
 * its sockets). Configuration errors end the process with one clear line and exit code 2.
 */
export async function bootstrapService(
  service: string,
  makeModule: (config: ServiceConfig, env: Record<string, string | undefined>) => unknown,
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  const fallback = createLogger(service);
  let config: ServiceConfig;
  let module: unknown;
  try {
    config = parseServiceConfig(service, env);
    // A service parses its own settings while making its module: their errors are configuration errors too.
    module = makeModule(config, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      fallback.error(`configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  try {
    const app = await NestFactory.createApplicationContext(module as never, { logger: ['error', 'warn'] });
    app.enableShutdownHooks();
    createLogger(service, { level: config.logLevel }, { instance: config.instanceId }).info('ready');
  } catch (err) {
    fallback.error('start-up failed', { error: err });
    process.exit(1);
  }
}
