import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, ServiceProcess } from '@ganglion/testing';

describe('trigger service start-up', () => {
  it('stops with a configuration error naming the variable on a bad setting', async () => {
    const proc = new ServiceProcess('trigger', {
      healthPort: await freePort(),
      env: { KAFKA_BROKERS: '127.0.0.1:9', GANGLION_TRIGGER_CONCURRENCY: '0' },
    }).start();
    await assert.rejects(proc.ready(30_000), /exited before it was ready/);
    assert.ok(
      proc.lines.some((l) =>
        l.includes('configuration error: GANGLION_TRIGGER_CONCURRENCY must be an integer'),
      ),
      proc.lines.join('\n'),
    );
  });
});
