import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ensureTopics, resourcesTopicConfig, ResourceStore, type Kafka } from '@ganglion/eventbus';
import type { Logger } from '@ganglion/telemetry';
import type { ServiceConfig } from './config.js';
import { HealthService } from './health.service.js';
import { CONFIG, KAFKA, LOGGER } from './tokens.js';

/** The process's replica of the resources topic, started (and caught up) before the app runs. */
@Injectable()
export class ResourceStoreService
  extends ResourceStore
  implements OnModuleInit, OnApplicationShutdown
{
  private caughtUp = false;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(CONFIG) private readonly config: ServiceConfig,
    @Inject(LOGGER) logger: Logger,
    health: HealthService,
  ) {
    super(kafka, config.resourcesTopic, logger);
    health.addReadinessCheck('resources', () => this.caughtUp);
    void this.ready.then(() => (this.caughtUp = true));
  }

  async onModuleInit(): Promise<void> {
    const admin = this.kafkaClient.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        resourcesTopicConfig(
          this.config.resourcesTopic,
          this.config.replicationFactor,
          this.config.topics.minInsyncReplicas,
        ),
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.start();
    await this.ready;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}
