import { Module, type DynamicModule } from '@nestjs/common';
import { GanglionModule, type ServiceConfig } from '@ganglion/nest';
import { parseReconcilerSettings } from './reconciler.config.js';
import { RECONCILER_SETTINGS, ReconcilerService } from './reconciler.service.js';

@Module({})
export class ReconcilerModule {
  static create(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    return {
      module: ReconcilerModule,
      imports: [GanglionModule.forRoot(config, env)],
      providers: [
        { provide: RECONCILER_SETTINGS, useValue: parseReconcilerSettings(config, env) },
        ReconcilerService,
      ],
    };
  }
}
