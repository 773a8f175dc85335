import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Msg, type NatsConnection } from 'nats';
import type { NATSTrigger, Trigger } from '@ganglion/api';
import { NatsServer, waitFor } from '@ganglion/testing';
import { context, event, secretsDir } from '../fixtures/trigger.fixtures.js';
import { createNatsTrigger } from './nats.trigger.js';

describe('nats trigger against Debian nats-server', { timeout: 120_000 }, () => {
  const plugin = createNatsTrigger();
  let server: NatsServer;
  let secured: NatsServer;
  let reader: NatsConnection;
  const got: Msg[] = [];
  const dir = secretsDir({ nats: { user: 'ganglion', pass: 'pw', token: 'tkn' } });
  const events = { dep: event({ subject: 'orders.created', id: 9 }) };

  before(async () => {
    server = await NatsServer.start();
    secured = await NatsServer.start({ user: 'ganglion', password: 'pw' });
    reader = await connect({ servers: server.url });
    const sub = reader.subscribe('orders.>');
    void (async () => {
      for await (const m of sub) got.push(m);
    })();
    await reader.flush();
  });
  after(async () => {
    await plugin.close?.();
    await reader?.close();
    await server?.stop();
    await secured?.stop();
  });

  it('publishes the payload to the subject set by a parameter, with the action id as Nats-Msg-Id', async () => {
    const t: NATSTrigger = {
      url: server.url,
      subject: 'placeholder',
      payload: [{ src: { dependencyName: 'dep', dataKey: 'id', useRawData: true }, dest: 'id' }],
      parameters: [{ src: { dependencyName: 'dep', dataKey: 'subject' }, dest: 'subject' }],
    };
    const r = await plugin.execute(
      t,
      { template: { name: 'n' } } as Trigger,
      events,
      context({ actionId: 'c'.repeat(32) }),
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    const m = await waitFor(() => got.find((x) => x.subject === 'orders.created'), {
      what: 'the published message',
    });
    assert.deepEqual(JSON.parse(new TextDecoder().decode(m.data)), { id: 9 });
    assert.equal(m.headers?.get('Nats-Msg-Id'), 'c'.repeat(32));
  });

  it('authenticates with basic auth from Secrets, and fails without it', async () => {
    const base: NATSTrigger = { url: secured.url, subject: 'orders.secure', payload: [] };
    const ok = await plugin.execute(
      {
        ...base,
        auth: {
          basic: {
            username: { name: 'nats', key: 'user' },
            password: { name: 'nats', key: 'pass' },
          },
        },
      },
      { template: { name: 'n' } } as Trigger,
      events,
      context({ secretsDir: dir }),
    );
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const denied = await plugin.execute(
      base,
      { template: { name: 'n' } } as Trigger,
      events,
      context({ secretsDir: dir }),
    );
    assert.equal(denied.ok, false);
    assert.match(!denied.ok ? denied.error : '', /auth/i);
  });
});
