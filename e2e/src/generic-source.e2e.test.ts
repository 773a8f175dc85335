import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { KafkaBroker, uniquePrefix, waitFor } from '@ganglion/testing';
import { BrokerIngress } from './broker-harness.js';

/** Argo's generic.proto, as a user's server compiles it. */
const GENERIC_PROTO = `syntax = "proto3";
package generic;
service Eventing {
    rpc StartEventSource(EventSource) returns (stream Event);
}
message EventSource {
    string name = 1;
    bytes config = 2;
}
message Event {
    string name = 1;
    bytes payload = 2;
}
`;

type Stream = grpc.ServerWritableStream<{ name: string; config: Buffer }, unknown>;

/**
 * A user's event source server on loopback: records each `StartEventSource` call and streams the
 * queued events to the open call, respecting the stream's flow control (a write that returns
 * false waits for `drain`).
 */
class EventingServer {
  readonly calls: { name: string; config: string; authorization: string; peer: string }[] = [];
  private readonly open = new Set<Stream>();
  maxOpen = 0;
  private readonly queue: number[] = [];
  /** Events written to a stream, by sequence number, and to which call (index in `calls`). */
  readonly written = new Map<number, number>();
  /** A write returned false and the stream has not drained since. */
  blocked = false;
  private pumping = false;
  private readonly server = new grpc.Server();
  port = 0;

  async start(): Promise<this> {
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-generic-'));
    writeFileSync(join(dir, 'generic.proto'), GENERIC_PROTO);
    const pkg = grpc.loadPackageDefinition(loadSync(join(dir, 'generic.proto'))) as unknown as {
      generic: { Eventing: { service: grpc.ServiceDefinition } };
    };
    rmSync(dir, { recursive: true, force: true });
    this.server.addService(pkg.generic.Eventing.service, {
      StartEventSource: (call: Stream) => {
        this.calls.push({
          name: call.request.name,
          config: Buffer.from(call.request.config).toString(),
          authorization: String(call.metadata.get('authorization')[0] ?? ''),
          peer: call.getPeer(),
        });
        this.open.add(call);
        this.maxOpen = Math.max(this.maxOpen, this.open.size);
        const gone = (): void => {
          this.open.delete(call);
        };
        call.on('cancelled', gone);
        call.on('close', gone);
        call.on('error', gone);
        void this.pump();
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    return this;
  }

  get openStreams(): number {
    return this.open.size;
  }

  /** Queues events [from, to) (payload `{"seq": n}`) for the open stream. */
  emit(from: number, to: number, pad = 0): void {
    for (let i = from; i < to; i++) this.queue.push(i);
    this.pad = pad;
    void this.pump();
  }
  private pad = 0;

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const call = [...this.open][0];
        const seq = this.queue[0];
        if (!call || seq === undefined) return;
        const payload = Buffer.from(JSON.stringify({ seq, pad: 'x'.repeat(this.pad) }));
        this.queue.shift();
        this.written.set(seq, this.calls.length - 1);
        if (!call.write({ name: 'inventory', payload })) {
          this.blocked = true;
          await new Promise<void>((resolve) => {
            const done = (): void => {
              call.off('drain', done);
              call.off('cancelled', done);
              resolve();
            };
            call.on('drain', done);
            call.on('cancelled', done);
          });
          this.blocked = false;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  async stop(): Promise<void> {
    for (const c of this.open) c.end();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

const seqOf = (data: Record<string, unknown>): number | undefined =>
  (data['body'] as { seq?: number } | undefined)?.seq;

/**
 * ingress-generic as processes against a gRPC server the test runs (Argo's generic.proto); the
 * bus on a Kafka broker of its own (so the test can stop it). An owned type: one replica streams
 * at a time.
 */
describe('ingress-generic: a gRPC event stream bridged into the bus', { timeout: 900_000 }, () => {
  const prefix = uniquePrefix('generic-src');
  let server: EventingServer;
  let bus: KafkaBroker;
  let ingress: BrokerIngress;

  before(async () => {
    server = await new EventingServer().start();
    bus = await KafkaBroker.start({ heap: '384m' });
    ingress = await new BrokerIngress({
      service: 'ingress-generic',
      prefix,
      brokers: bus.brokers,
      seqOf,
      env: { GANGLION_SECRET_INVENTORY_EVENTS_TOKEN: 's3cret' },
      eventSource: {
        name: 'generic',
        spec: {
          generic: {
            inventory: {
              url: `127.0.0.1:${server.port}`,
              insecure: true,
              config: '{"warehouse": "north"}',
              jsonBody: true,
              authSecret: { name: 'inventory-events', key: 'token' },
              metadata: { team: 'stock' },
            },
          },
        },
      },
    }).start();
    await ingress.replica();
    await waitFor(() => server.openStreams === 1, {
      timeoutMs: 120_000,
      what: 'the source to open the event stream',
    });
  });

  after(async () => {
    await ingress?.stop();
    await bus?.destroy();
    await server?.stop();
  });

  it("streams events into the bus with Argo's data shape; the call carries name, config and the bearer secret", async () => {
    server.emit(0, 3);
    await ingress.waitForAll(0, 3, 120_000);
    const first = ingress.events.find((e) => seqOf(e.data) === 0)!;
    assert.equal(first.event.type, 'generic');
    assert.equal(first.event.source, 'generic');
    assert.equal(first.event.subject, 'inventory');
    assert.deepEqual(first.data, { body: { seq: 0, pad: '' }, metadata: { team: 'stock' } });
    assert.match(first.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(server.calls[0], {
      name: 'inventory',
      config: '{"warehouse": "north"}',
      authorization: 'Bearer s3cret',
      peer: server.calls[0]!.peer,
    });
  });

  it('two replicas: one stream at a time; the owner SIGKILLed mid-stream of 5,000 events, the standby takes over and what the server wrote to it all arrives, once', async () => {
    await ingress.replica();
    server.emit(1000, 6000);
    await waitFor(() => [...ingress.bySeq.keys()].filter((s) => s >= 1000).length > 1500, {
      timeoutMs: 120_000,
      what: 'the stream to start',
    });
    const owner = ingress.replicas.find((r) =>
      r.records().some((l) => l['msg'] === 'broker source connected'),
    )!;
    const callsBefore = server.calls.length;
    await owner.stop('SIGKILL');
    await waitFor(() => server.calls.length > callsBefore && server.openStreams === 1, {
      timeoutMs: 120_000,
      what: 'the standby to open the stream',
    });
    await waitFor(() => server.written.size >= 5000 + 3, {
      timeoutMs: 120_000,
      what: 'the server to write every event',
    });
    const afterTakeover = [...server.written].filter(([, call]) => call >= callsBefore);
    await waitFor(() => afterTakeover.every(([seq]) => ingress.bySeq.has(seq)), {
      timeoutMs: 120_000,
      what: 'every event written to the new stream on the bus',
    });
    assert.equal(server.maxOpen, 1, 'two replicas streamed at once');
    assert.equal(ingress.duplicates(1000, 6000), 0, 'an event reached the bus twice');
    // The protocol has no acknowledgement: what the docs promise is that only events streamed to
    // the killed replica (the kill window) can be lost, never one streamed to the new owner.
    const killedStream = [...server.written].filter(([s, call]) => s >= 1000 && call < callsBefore);
    const lost = [...server.written].filter(([s]) => s >= 1000 && !ingress.bySeq.has(s)).length;
    const lostInKillWindow = killedStream.filter(([s]) => !ingress.bySeq.has(s)).length;
    assert.equal(lost, lostInKillWindow, 'an event streamed to the new owner was lost');
    assert.ok(
      lost <= killedStream.length,
      `${lost} lost, more than the ${killedStream.length} streamed to the killed replica`,
    );
    console.log(
      `generic SIGKILL: ${afterTakeover.length} events written after the takeover all on the bus; ` +
        `${lost} written to the killed replica's stream but not on the bus (no acknowledgement in the protocol)`,
    );
  });

  it('bus down: the server is not drained; streaming resumes when the bus is back', async () => {
    const callsBefore = server.calls.length;
    const total = 20_000;
    const failures = (): number =>
      ingress.replicas
        .filter((r) => r.running)
        .flatMap((r) => r.records())
        .filter(
          (l) => l['msg'] === 'event not published; retrying' || l['msg'] === 'released ownership',
        ).length;
    const already = failures();
    await bus.stop();
    server.emit(100_000, 100_000 + total, 1024);
    // The owner fails to publish; in this test the bus is also the installation's cluster (the
    // ownership group's), so it may lose ownership too and close the stream: either way the
    // server stops writing (blocked by flow control, or no stream open).
    await waitFor(() => failures() > already && (server.blocked || server.openStreams === 0), {
      timeoutMs: 180_000,
      intervalMs: 200,
      what: 'the ingress failing and the server stopped writing',
    });
    const writtenWhileDown = [...server.written.keys()].filter((s) => s >= 100_000).length;
    assert.ok(
      writtenWhileDown < total,
      `the server wrote all ${total} events while the bus was down`,
    );
    await bus.resume();
    await waitFor(() => server.written.size >= 5003 + total, {
      timeoutMs: 300_000,
      what: 'the server to write every event once the bus is back',
    });
    const resumed = [...server.written].filter(([s, call]) => s >= 100_000 && call >= callsBefore);
    const lastCall = server.calls.length - 1;
    const afterLastOpen = resumed.filter(([, call]) => call === lastCall);
    await waitFor(() => afterLastOpen.every(([s]) => ingress.bySeq.has(s)), {
      timeoutMs: 300_000,
      what: 'every event written to the stream open once the bus is back on the bus',
    });
    assert.equal(ingress.duplicates(100_000, 100_000 + total), 0, 'an event reached the bus twice');
    const lost = resumed.filter(([s]) => !ingress.bySeq.has(s)).length;
    console.log(
      `generic bus down: the server had written ${writtenWhileDown} of ${total} events when it stopped; ` +
        `${lost} events streamed before a reconnection were not published (no acknowledgement in the protocol)`,
    );
  });
});
