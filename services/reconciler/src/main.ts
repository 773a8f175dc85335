import { bootstrapService } from '@ganglion/nest';
import { ReconcilerModule } from './app.module.js';

await bootstrapService('reconciler', (config, env) => ReconcilerModule.create(config, env));
