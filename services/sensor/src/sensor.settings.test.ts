import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@ganglion/nest';
import { parseSensorSettings } from './sensor.settings.js';

describe('sensor service settings', () => {
  it('reads the loop settings, with the defaults when unset', () => {
    assert.deepEqual(parseSensorSettings({}), {
      concurrency: 4,
      fetchWaitMs: 10,
      commitIntervalMs: 0,
      transactionScope: 'partition',
      evaluationDeadlineMs: 2000,
      evaluationMaxValueBytes: 16 * 1024 * 1024,
      luaMaxMemoryBytes: 64 * 1024 * 1024,
    });
    assert.deepEqual(
      parseSensorSettings({
        GANGLION_SENSOR_CONCURRENCY: '8',
        GANGLION_SENSOR_FETCH_WAIT_MS: '0',
        GANGLION_SENSOR_COMMIT_INTERVAL_MS: '20',
        GANGLION_SENSOR_TRANSACTION_SCOPE: 'replica',
        GANGLION_EVAL_DEADLINE_MS: '500',
        GANGLION_EVAL_MAX_VALUE_BYTES: '1048576',
        GANGLION_EVAL_LUA_MAX_MEMORY_BYTES: '33554432',
      }),
      {
        concurrency: 8,
        fetchWaitMs: 0,
        commitIntervalMs: 20,
        transactionScope: 'replica',
        evaluationDeadlineMs: 500,
        evaluationMaxValueBytes: 1048576,
        luaMaxMemoryBytes: 33554432,
      },
    );
  });

  it('rejects a bad value naming the variable instead of falling back to the default', () => {
    for (const [name, value] of [
      ['GANGLION_SENSOR_CONCURRENCY', '0'],
      ['GANGLION_SENSOR_CONCURRENCY', 'four'],
      ['GANGLION_SENSOR_FETCH_WAIT_MS', '-1'],
      ['GANGLION_SENSOR_FETCH_WAIT_MS', '2.5'],
      ['GANGLION_SENSOR_COMMIT_INTERVAL_MS', 'soon'],
      ['GANGLION_SENSOR_TRANSACTION_SCOPE', 'process'],
      ['GANGLION_EVAL_DEADLINE_MS', '0'],
      ['GANGLION_EVAL_MAX_VALUE_BYTES', 'big'],
      ['GANGLION_EVAL_LUA_MAX_MEMORY_BYTES', '1'],
    ] as const) {
      assert.throws(
        () => parseSensorSettings({ [name]: value }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.startsWith(`${name} must be`) &&
          err.message.includes(`"${value}"`),
        `${name}=${value}`,
      );
    }
  });
});
