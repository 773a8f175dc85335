import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, ServiceProcess } from '@ganglion/testing';

describe('sensor service start-up', () => {
  it('stops with a configuration error naming the variable on a bad setting, instead of running with a default', async () => {
    const proc = new ServiceProcess('sensor', {
      healthPort: await freePort(),
      env: { KAFKA_BROKERS: '127.0.0.1:9', GANGLION_SENSOR_COMMIT_INTERVAL_MS: 'soon' },
    }).start();
    await assert.rejects(proc.ready(30_000), /exited before it was ready/);
    assert.ok(
      proc.lines.some((l) =>
        l.includes('configuration error: GANGLION_SENSOR_COMMIT_INTERVAL_MS must be an integer'),
      ),
      proc.lines.join('\n'),
    );
  });
});
