import { bootstrapService } from '@ganglion/nest';
import { IngressWebhookModule } from './app.module.js';

await bootstrapService('ingress-webhook', (config, env) => IngressWebhookModule.create(config, env));
