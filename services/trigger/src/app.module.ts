import { Module, type DynamicModule } from '@nestjs/common';
import { GanglionModule, type ServiceConfig } from '@ganglion/nest';
import { TriggerRunner } from './trigger.runner.js';

@Module({})
export class TriggerModule {
  static create(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    return { module: TriggerModule, imports: [GanglionModule.forRoot(config, env)], providers: [TriggerRunner] };
  }
}
