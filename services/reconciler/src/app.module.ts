import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigError, GanglionModule, type ServiceConfig } from '@ganglion/nest';
import { DirectoryReconciler } from './directory.reconciler.js';
import { KubernetesReconciler } from './kubernetes.reconciler.js';

/**
 * `GANGLION_RECONCILER_MODE`: `directory` (the manifests under `GANGLION_RESOURCES_DIR`; the
 * default when that is set) or `kubernetes` (informers on the API server; the default otherwise).
 */
@Module({})
export class ReconcilerModule {
  static create(config: ServiceConfig, env: Record<string, string | undefined>): DynamicModule {
    const mode = env['GANGLION_RECONCILER_MODE'] || (env['GANGLION_RESOURCES_DIR'] ? 'directory' : 'kubernetes');
    if (mode !== 'directory' && mode !== 'kubernetes') throw new ConfigError(`GANGLION_RECONCILER_MODE must be directory or kubernetes, got "${mode}"`);
    return {
      module: ReconcilerModule,
      imports: [GanglionModule.forRoot(config, env)],
      providers: [mode === 'directory' ? DirectoryReconciler : KubernetesReconciler],
    };
  }
}
