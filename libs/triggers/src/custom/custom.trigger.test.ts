import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import type { CustomTrigger, Trigger } from '@ganglion/api';
import { context, event, secretsDir, selfSignedCert } from '../fixtures/trigger.fixtures.js';
import { createCustomTrigger } from './custom.trigger.js';
import { triggerService } from './trigger.proto.js';

interface Seen {
  fetched: string[];
  executed: { resource: string; payload: string; key: string | undefined }[];
  policies: string[];
}

/** An in-process gRPC server implementing Argo's trigger protocol. */
async function startServer(
  seen: Seen,
  tls?: { key: string; cert: string },
): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(triggerService().service, {
    FetchResource(
      call: ServerUnaryCall<{ resource: Buffer }, unknown>,
      cb: sendUnaryData<{ resource: Buffer }>,
    ) {
      seen.fetched.push(call.request.resource.toString());
      cb(null, {
        resource: Buffer.from(
          JSON.stringify({ kind: 'PipelineRun', spec: { pipeline: 'build', params: {} } }),
        ),
      });
    },
    Execute(
      call: ServerUnaryCall<{ resource: Buffer; payload: Buffer }, unknown>,
      cb: sendUnaryData<{ response: Buffer }>,
    ) {
      const key = call.metadata.get('idempotency-key')[0]?.toString();
      seen.executed.push({
        resource: call.request.resource.toString(),
        payload: call.request.payload.toString(),
        key,
      });
      const fail = call.request.payload.toString().includes('"fail"');
      cb(null, { response: Buffer.from(fail ? 'status=failed' : 'status=ok') });
    },
    ApplyPolicy(
      call: ServerUnaryCall<{ request: Buffer }, unknown>,
      cb: sendUnaryData<{ success: boolean; message: string }>,
    ) {
      const req = call.request.request.toString();
      seen.policies.push(req);
      cb(null, { success: req === 'status=ok', message: req });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      tls
        ? ServerCredentials.createSsl(null, [
            { private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) },
          ])
        : ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  return { server, port };
}

describe('custom trigger (Argo gRPC trigger protocol) against an in-process gRPC server', () => {
  const seen: Seen = { fetched: [], executed: [], policies: [] };
  const cert = selfSignedCert();
  const plugin = createCustomTrigger(10_000);
  let plain: { server: Server; port: number };
  let secure: { server: Server; port: number };
  const ctx = context({
    secretsDir: secretsDir({ grpc: { 'ca.crt': cert.cert } }),
    actionId: '1'.repeat(32),
  });
  before(async () => {
    plain = await startServer(seen);
    secure = await startServer(seen, cert);
  });
  after(async () => {
    await plugin.close?.();
    plain.server.forceShutdown();
    secure.server.forceShutdown();
  });
  const events = { dep: event({ branch: 'main', result: 'ok' }) };
  const base = (port: number): CustomTrigger => ({
    serverURL: `127.0.0.1:${port}`,
    spec: { pipeline: 'build', namespace: 'ci' },
    parameters: [{ src: { dependencyName: 'dep', dataKey: 'branch' }, dest: 'spec.params.branch' }],
    payload: [{ src: { dependencyName: 'dep', dataKey: 'result' }, dest: 'result' }],
  });

  it('FetchResource (spec as YAML) → parameters on the resource → Execute(resource, payload) → ApplyPolicy', async () => {
    const r = await plugin.execute(
      base(plain.port),
      { template: { name: 'c' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(seen.fetched.at(-1), '"namespace": "ci"\n"pipeline": "build"\n');
    const ex = seen.executed.at(-1)!;
    assert.deepEqual(JSON.parse(ex.resource), {
      kind: 'PipelineRun',
      spec: { pipeline: 'build', params: { branch: 'main' } },
    });
    assert.deepEqual(JSON.parse(ex.payload), { result: 'ok' });
    assert.equal(ex.key, '1'.repeat(32));
    assert.equal(seen.policies.at(-1), 'status=ok');
  });

  it('ApplyPolicy success:false fails the attempt (Argo ignores it)', async () => {
    const r = await plugin.execute(
      base(plain.port),
      { template: { name: 'c' } } as Trigger,
      { dep: event({ branch: 'main', result: 'fail' }) },
      ctx,
    );
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /policy says the execution failed: status=failed/);
  });

  it('secure: TLS with the CA from certSecret and serverNameOverride', async () => {
    const r = await plugin.execute(
      {
        ...base(secure.port),
        secure: true,
        certSecret: { name: 'grpc', key: 'ca.crt' },
        serverNameOverride: 'localhost',
      },
      { template: { name: 'c' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, true, JSON.stringify(r));
  });

  it('an unreachable server is a retryable failure', async () => {
    const r = await createCustomTrigger(1000).execute(
      { ...base(1), serverURL: '127.0.0.1:1' },
      { template: { name: 'c' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, true);
  });
});
