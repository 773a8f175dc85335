import { bootstrapService } from '@ganglion/nest';
import { TriggerModule } from './app.module.js';

await bootstrapService('trigger', (config, env) => TriggerModule.create(config, env));
