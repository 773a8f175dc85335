import { bootstrapService } from '@ganglion/nest';
import { SensorModule } from './app.module.js';

await bootstrapService('sensor', (config, env) => SensorModule.create(config, env));
