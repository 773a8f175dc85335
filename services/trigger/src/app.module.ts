import { Module, type DynamicModule } from '@nestjs/common';
import { GanglionModule, type ServiceConfig } from '@ganglion/nest';
import { parseTriggerConfig } from './trigger.config.js';
import { TRIGGER_SETTINGS, TriggerProvider } from './trigger.provider.js';

@Module({})
export class TriggerModule {
  static create(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    const settings = parseTriggerConfig(env);
    return {
      module: TriggerModule,
      imports: [GanglionModule.forRoot(config, env)],
      providers: [{ provide: TRIGGER_SETTINGS, useValue: settings }, TriggerProvider],
    };
  }
}
