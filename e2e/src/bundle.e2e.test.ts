import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server, ServerCredentials, loadPackageDefinition, type GrpcObject } from '@grpc/grpc-js';
import type { ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { freePort, KafkaBroker, REPO_ROOT, uniquePrefix, waitFor } from '@ganglion/testing';
import { eventBusYaml, manifestDir, Stack, TargetServer, webhookSourceYaml } from './harness.js';

/**
 * The services run from their bundles (dist/bundle/, scripts/bundle.mjs), as in the image: the
 * files that lived beside a module still load from there. A Lua filter runs in the Lua worker
 * (dist/bundle/lua.worker.js), a regular-expression filter loads re2js on first use, and a custom
 * trigger reads Argo's trigger.proto (copied beside the bundle) and sends its spec as YAML (yaml,
 * loaded on first use); each against a real broker and a real gRPC server.
 */
describe(
  'services run from their bundles: worker, proto and lazily loaded packages',
  { timeout: 600_000 },
  () => {
    let broker: KafkaBroker;
    let stack: Stack;
    let target: TargetServer;
    let grpc: Server;
    let webhookUrl: string;
    const executed: { payload: string; resource: string }[] = [];
    const fetched: string[] = [];

    before(async () => {
      const def = loadSync(join(REPO_ROOT, 'libs', 'triggers', 'proto', 'trigger.proto'), {
        keepCase: true,
      });
      const service = (
        (loadPackageDefinition(def)['triggers'] as GrpcObject)[
          'Trigger'
        ] as ServiceClientConstructor
      ).service;
      grpc = new Server();
      grpc.addService(service, {
        FetchResource(call: { request: { resource: Buffer } }, cb: (e: null, r: unknown) => void) {
          fetched.push(call.request.resource.toString());
          cb(null, { resource: Buffer.from('{"kind":"Build"}') });
        },
        Execute(
          call: { request: { resource: Buffer; payload: Buffer } },
          cb: (e: null, r: unknown) => void,
        ) {
          executed.push({
            resource: call.request.resource.toString(),
            payload: call.request.payload.toString(),
          });
          cb(null, { response: Buffer.from('ok') });
        },
        ApplyPolicy(_call: unknown, cb: (e: null, r: unknown) => void) {
          cb(null, { success: true, message: 'ok' });
        },
      });
      const grpcPort = await new Promise<number>((resolve, reject) =>
        grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );
      broker = await KafkaBroker.start();
      target = await new TargetServer().start();
      const prefix = uniquePrefix('e2e');
      const port = await freePort();
      webhookUrl = `http://127.0.0.1:${port}/example`;
      const dir = manifestDir({
        'eventbus.yaml': eventBusYaml(`${prefix}-bus`),
        'eventsource.yaml': webhookSourceYaml('webhook', port, ['example']),
        'sensor.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: bundled}
spec:
  dependencies:
    - name: dep
      eventSourceName: webhook
      eventName: example
      filters:
        script: return event.body.n > 1
        data:
          - {path: body.seq, type: string, value: ['^keep-[a-z]+$']}
  triggers:
    - template:
        name: http
        http:
          url: http://127.0.0.1:${target.port}/notify
          method: POST
          payload:
            - src: {dependencyName: dep, dataKey: body.seq}
              dest: seq
    - template:
        name: custom
        custom:
          serverURL: 127.0.0.1:${grpcPort}
          spec: {pipeline: build}
          payload:
            - src: {dependencyName: dep, dataKey: body.seq}
              dest: seq
`,
      });
      stack = await new Stack(broker.brokers, prefix, dir).start();
    });

    after(async () => {
      await stack?.stop();
      await target?.stop();
      await broker?.destroy();
      grpc?.forceShutdown();
    });

    const post = async (body: unknown): Promise<void> => {
      const res = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, await res.text());
    };

    it('runs each service from dist/bundle', () => {
      for (const [name, proc] of stack.services) {
        const argv = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0');
        assert.ok(
          argv.includes(join(REPO_ROOT, 'dist', 'bundle', `${name}.js`)),
          `${name}: ${argv.join(' ')}`,
        );
      }
    });

    it('filters with Lua and a regular expression, then calls the http and the custom trigger', async () => {
      await post({ seq: 'keep-lua', n: 1 }); // the Lua filter drops it
      await post({ seq: 'drop-regex', n: 2 }); // the regular expression drops it
      await post({ seq: 'keep-both', n: 2 });
      await waitFor(
        () => target.calls.find((c) => (c.body as { seq?: string }).seq === 'keep-both'),
        {
          timeoutMs: 60_000,
          what: 'the http trigger call for keep-both',
        },
      );
      const ex = await waitFor(() => executed.find((e) => e.payload.includes('keep-both')), {
        timeoutMs: 60_000,
        what: 'the custom trigger Execute for keep-both',
      });
      // one event name, one key, one partition: what the filters dropped would have come first
      assert.deepEqual(
        target.calls.map((c) => (c.body as { seq?: string }).seq),
        ['keep-both'],
      );
      assert.deepEqual(JSON.parse(ex.payload), { seq: 'keep-both' });
      assert.equal(ex.resource, '{"kind":"Build"}');
      assert.equal(fetched.at(-1), '"pipeline": "build"\n');
    });
  },
);
