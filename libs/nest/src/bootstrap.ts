import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { checkBusAccess, createKafka, installationSecurity } from '@ganglion/eventbus';
import { createLogger } from '@ganglion/telemetry';
import { ConfigError, parseServiceConfig, type ServiceConfig } from './config.js';
import { HeapCompactor } from './heap-compaction.js';

/**
 * Starts a service as a Nest application context (no Nest HTTP adapter: the data plane owns
 * its sockets). Configuration errors (parsing the shared settings or building the module, where a
 * service parses its own) end the process with one clear line naming the variable and exit code 2.
 * With TLS or SASL configured for the installation's cluster, the process connects once before
 * starting: a refused login or an untrusted broker certificate ends it the same way (exit code
 * 2, one line), instead of every client retrying forever.
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
  const security = installationSecurity(config.kafkaSecurity);
  if (security) {
    try {
      await checkBusAccess(
        createKafka({
          brokers: config.brokers,
          clientId: `ganglion-${service}-access-check`,
          logger: fallback,
          security,
          connectionTimeoutMs: 5000,
        }),
        config.brokers,
      );
    } catch (err) {
      fallback.error(`configuration error: ${(err as Error).message}`);
      process.exit(2);
    }
  }
  try {
    const app = await NestFactory.createApplicationContext(module as never, {
      logger: ['error', 'warn'],
      abortOnError: false,
    });
    app.enableShutdownHooks();
    const logger = createLogger(
      service,
      { level: config.logLevel },
      { instance: config.instanceId },
    );
    logger.info('ready');
    new HeapCompactor({ afterStartSeconds: config.heapCompactionSeconds, logger }).start();
  } catch (err) {
    // A provider that reads a setting of its own while Nest builds it fails the same way.
    if (err instanceof ConfigError) {
      fallback.error(`configuration error: ${err.message}`);
      process.exit(2);
    }
    fallback.error('start-up failed', { error: err });
    process.exit(1);
  }
}
