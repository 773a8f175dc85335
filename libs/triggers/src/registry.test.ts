import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EmailTrigger } from '@ganglion/api';
import { createLogger } from '@ganglion/telemetry';
import { closeTriggerRegistry, createTriggerRegistry } from './registry.js';

const logger = createLogger('test', { level: 'error', write: () => undefined });

describe('trigger registry', () => {
  it('a plugin loaded on its first action (email) runs through its wrapper and closes', async () => {
    const registry = createTriggerRegistry({ logger });
    assert.equal(registry.email.type, 'email');
    // A template the plugin itself refuses: the answer is the email plugin's own, so the module
    // was loaded and called (no SMTP server is needed).
    const result = await registry.email.execute(
      { host: '127.0.0.1', port: 2525, to: [] } as EmailTrigger,
      {} as never,
      {},
      {} as never,
    );
    assert.deepEqual(result, {
      ok: false,
      error: 'email via 127.0.0.1:2525: to: at least one recipient is required',
      retryable: false,
    });
    await closeTriggerRegistry(registry);
  });
});
