export {
  parseServiceConfig,
  ConfigError,
  intVar,
  numberVar,
  stringVar,
  requiredVar,
  boolVar,
  enumVar,
  urlVar,
  labelsVar,
  logLevelVar,
  type ServiceConfig,
} from './config.js';
export { BUS_CLIENTS, CONFIG, ENV, LOGGER } from './tokens.js';
export { HealthService } from './health.service.js';
export { MetricsService } from './metrics.service.js';
export { ResourceStoreService } from './resource-store.service.js';
export { GanglionModule } from './ganglion.module.js';
export { bootstrapService } from './bootstrap.js';
export { HeapCompactor } from './heap-compaction.js';
export {
  bootstrapPushIngress,
  bootstrapOwnedIngress,
  bootstrapGroupIngress,
} from './ingress.module.js';
export { AdmissionServer, ADMISSION_SERVING, type AdmissionServing } from './admission.server.js';
