import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AWSLambdaTrigger, Trigger } from '@ganglion/api';
import { context, event, RecordingServer, secretsDir } from '../fixtures/trigger.fixtures.js';
import { createAwsLambdaTrigger } from './aws-lambda.trigger.js';

/** A local server speaking the Lambda Invoke API (`POST /2015-03-31/functions/<name>/invocations`). */
describe('awsLambda trigger (AWS SDK) against a local Invoke API server', () => {
  const server = new RecordingServer();
  let plugin: ReturnType<typeof createAwsLambdaTrigger>;
  const ctx = context({
    secretsDir: secretsDir({ aws: { access: 'AKIDEXAMPLE', secret: 'wJalrXUtnFEMI' } }),
    actionId: 'e'.repeat(32),
  });
  const events = { dep: event({ order: 5 }) };
  before(async () => {
    await server.start((call, res) => {
      const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(call.url);
      if (!m) return void res.writeHead(404).end();
      const name = decodeURIComponent(m[1]!);
      if (name === 'missing')
        return void res
          .writeHead(404, {
            'Content-Type': 'application/json',
            'x-amzn-ErrorType': 'ResourceNotFoundException',
          })
          .end(JSON.stringify({ Type: 'User', message: 'Function not found' }));
      if (name === 'crashing')
        return void res
          .writeHead(200, {
            'X-Amz-Function-Error': 'Unhandled',
            'Content-Type': 'application/json',
          })
          .end(JSON.stringify({ errorMessage: 'boom' }));
      const type = call.headers['x-amz-invocation-type'] ?? 'RequestResponse';
      if (type === 'Event') return void res.writeHead(202).end();
      res
        .writeHead(200, { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST' })
        .end(JSON.stringify({ echoed: call.json }));
    });
    plugin = createAwsLambdaTrigger({ endpoint: server.url });
  });
  after(async () => {
    await plugin.close?.();
    await server.stop();
  });
  const base = (fn = 'process-order'): AWSLambdaTrigger => ({
    functionName: fn,
    region: 'us-east-1',
    accessKey: { name: 'aws', key: 'access' },
    secretKey: { name: 'aws', key: 'secret' },
    payload: [
      { src: { dependencyName: 'dep', dataKey: 'order', useRawData: true }, dest: 'order' },
    ],
  });

  it('invokes the function with the payload, signed with the access key, and the action id in the client context', async () => {
    const r = await plugin.execute(base(), { template: { name: 'l' } } as Trigger, events, ctx);
    assert.equal(r.ok, true, JSON.stringify(r));
    const call = server.calls.at(-1)!;
    assert.equal(call.method, 'POST');
    assert.deepEqual(call.json, { order: 5 });
    assert.match(
      String(call.headers['authorization']),
      /AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d+\/us-east-1\/lambda\/aws4_request/,
    );
    const clientContext = JSON.parse(
      Buffer.from(String(call.headers['x-amz-client-context']), 'base64').toString('utf8'),
    );
    assert.deepEqual(clientContext, { custom: { idempotencyKey: 'e'.repeat(32) } });
  });

  it('invocationType Event is accepted (202)', async () => {
    const r = await plugin.execute(
      { ...base(), invocationType: 'Event' },
      { template: { name: 'l' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(server.calls.at(-1)!.headers['x-amz-invocation-type'], 'Event');
  });

  it('policy.status.allow judges the StatusCode', async () => {
    const r = await plugin.execute(
      { ...base(), invocationType: 'Event' },
      { template: { name: 'l' }, policy: { status: { allow: [200] } } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
  });

  it('a function error fails the attempt', async () => {
    const r = await plugin.execute(
      base('crashing'),
      { template: { name: 'l' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /Unhandled.*boom/);
  });

  it('a missing function is a non-retryable failure', async () => {
    const r = await plugin.execute(
      base('missing'),
      { template: { name: 'l' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
    assert.match(!r.ok ? r.error : '', /404/);
  });
});
