import { Module, type DynamicModule } from '@nestjs/common';
import { GanglionModule, type ServiceConfig } from '@ganglion/nest';
import { DirectoryReconciler } from './directory.reconciler.js';

@Module({})
export class ReconcilerModule {
  static create(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    return { module: ReconcilerModule, imports: [GanglionModule.forRoot(config, env)], providers: [DirectoryReconciler] };
  }
}
