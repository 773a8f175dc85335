import { Module, type DynamicModule } from '@nestjs/common';
import { GanglionModule, type ServiceConfig } from '@ganglion/nest';
import { SensorRunner } from './sensor.runner.js';

@Module({})
export class SensorModule {
  static create(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    return { module: SensorModule, imports: [GanglionModule.forRoot(config, env)], providers: [SensorRunner] };
  }
}
