import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { OpenWhiskTrigger, Trigger } from '@ganglion/api';
import { context, event, RecordingServer, secretsDir } from '../fixtures/trigger.fixtures.js';
import { createOpenWhiskTrigger } from './openwhisk.trigger.js';

describe('openWhisk trigger against a local server speaking the OpenWhisk REST API', () => {
  const server = new RecordingServer();
  const plugin = createOpenWhiskTrigger();
  const ctx = context({ secretsDir: secretsDir({ ow: { token: 'uuid-1:key-1' } }) });
  const events = { dep: event({ name: 'world' }) };
  before(() =>
    server.start((call, res) => {
      if (call.url.includes('/actions/broken'))
        return void res
          .writeHead(502, { 'Content-Type': 'application/json' })
          .end('{"error":"action failed"}');
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ response: { result: { greeting: 'hi' } } }));
    }),
  );
  after(async () => {
    await plugin.close?.();
    await server.stop();
  });
  const base = (action = 'hello'): OpenWhiskTrigger => ({
    host: server.url,
    namespace: 'guest',
    actionName: action,
    authToken: { name: 'ow', key: 'token' },
    payload: [{ src: { dependencyName: 'dep', dataKey: 'name' }, dest: 'name' }],
  });

  it('invokes the action (blocking) with basic auth from the token and the payload as parameters', async () => {
    const r = await plugin.execute(base(), { template: { name: 'o' } } as Trigger, events, ctx);
    assert.equal(r.ok, true, JSON.stringify(r));
    const call = server.calls.at(-1)!;
    assert.equal(call.url, '/api/v1/namespaces/guest/actions/hello?blocking=true');
    assert.equal(
      call.headers['authorization'],
      `Basic ${Buffer.from('uuid-1:key-1').toString('base64')}`,
    );
    assert.deepEqual(call.json, { name: 'world' });
  });

  it('a 5xx fails and is retryable; policy.status.allow can accept it', async () => {
    const r = await plugin.execute(
      base('broken'),
      { template: { name: 'o' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, true);
    const allowed = await plugin.execute(
      base('broken'),
      { template: { name: 'o' }, policy: { status: { allow: [502] } } } as Trigger,
      events,
      ctx,
    );
    assert.equal(allowed.ok, true);
  });
});
