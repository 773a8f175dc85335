import { DEFAULT_SENSOR_SETTINGS, type SensorSettings } from '@ganglion/sensors';
import { enumVar, intVar } from '@ganglion/nest';

/** The sensor stage's settings from the environment; a bad value is a ConfigError naming the variable. */
export function parseSensorSettings(env: Record<string, string | undefined>): SensorSettings {
  const d = DEFAULT_SENSOR_SETTINGS;
  return {
    concurrency: intVar(env, 'GANGLION_SENSOR_CONCURRENCY', d.concurrency, 1, 1024),
    fetchWaitMs: intVar(env, 'GANGLION_SENSOR_FETCH_WAIT_MS', d.fetchWaitMs, 0, 60_000),
    commitIntervalMs: intVar(
      env,
      'GANGLION_SENSOR_COMMIT_INTERVAL_MS',
      d.commitIntervalMs,
      0,
      60_000,
    ),
    transactionScope: enumVar(
      env,
      'GANGLION_SENSOR_TRANSACTION_SCOPE',
      ['partition', 'replica'] as const,
      d.transactionScope,
    ),
    evaluationDeadlineMs: intVar(
      env,
      'GANGLION_EVAL_DEADLINE_MS',
      d.evaluationDeadlineMs,
      10,
      60_000,
    ),
    evaluationMaxValueBytes: intVar(
      env,
      'GANGLION_EVAL_MAX_VALUE_BYTES',
      d.evaluationMaxValueBytes,
      1024,
      1024 * 1024 * 1024,
    ),
    luaMaxMemoryBytes: intVar(
      env,
      'GANGLION_EVAL_LUA_MAX_MEMORY_BYTES',
      d.luaMaxMemoryBytes,
      1024 * 1024,
      1024 * 1024 * 1024,
    ),
  };
}
