import { Module, type DynamicModule } from '@nestjs/common';
import { GanglionModule, type ServiceConfig } from '@ganglion/nest';
import { WebhookIngress } from './webhook.ingress.js';

@Module({})
export class IngressWebhookModule {
  static create(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    return { module: IngressWebhookModule, imports: [GanglionModule.forRoot(config, env)], providers: [WebhookIngress] };
  }
}
