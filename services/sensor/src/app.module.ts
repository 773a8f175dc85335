import { Module, type DynamicModule } from '@nestjs/common';
import { GanglionModule, type ServiceConfig } from '@ganglion/nest';
import { SENSOR_SETTINGS, SensorProvider } from './sensor.provider.js';
import { parseSensorSettings } from './sensor.settings.js';

@Module({})
export class SensorModule {
  static create(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    const settings = parseSensorSettings(env);
    return {
      module: SensorModule,
      imports: [GanglionModule.forRoot(config, env)],
      providers: [{ provide: SENSOR_SETTINGS, useValue: settings }, SensorProvider],
    };
  }
}
