import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import avro from 'avsc';
import { AvroDecodeError, AvroSchemaRegistry } from './schema-registry.js';

const ORDER = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'double' },
    { name: 'note', type: ['null', 'string'] },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] } },
  ],
} as const;

/** The registry wire format: magic byte 0, the schema id (4 bytes, big-endian), Avro binary. */
function wire(id: number, type: avro.Type, value: unknown): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, type.toBuffer(value)]);
}

/**
 * The decoder against an HTTP server of the test's own that answers the schema registry's
 * `GET /schemas/ids/<id>` as Confluent's REST API documents it (no real registry can be had
 * here: see the kafka source's docs). It checks the wire format, the Avro JSON encoding Argo's
 * goavro produces, basic auth, caching and the failure cases.
 */
describe('kafka schemaRegistry: Avro decoding through the registry protocol', () => {
  let server: Server;
  let url: string;
  const requests: { path: string; authorization: string | undefined }[] = [];
  const schemas = new Map<number, { schema: string; schemaType?: string }>([
    [7, { schema: JSON.stringify(ORDER) }],
    [8, { schema: '{"type":"record","name":"P","fields":[]}', schemaType: 'PROTOBUF' }],
  ]);

  before(async () => {
    server = createServer((req, res) => {
      requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
      const m = /^\/registry\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
      const s = m ? schemas.get(Number(m[1])) : undefined;
      res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
      if (!s) {
        res.statusCode = 404;
        res.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
        return;
      }
      res.end(JSON.stringify(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/registry/`;
  });

  after(() => server.close());

  it("decodes a wire-format value into goavro's Avro JSON (unions wrapped), fetching the schema once, with basic auth", async () => {
    const registry = new AvroSchemaRegistry(url, { username: 'u', password: 'p' });
    const type = avro.Type.forSchema(ORDER as unknown as avro.Schema, { wrapUnions: true });
    const a = wire(7, type, { id: 'o-1', amount: 12.5, note: { string: 'gift' }, status: 'PAID' });
    const b = wire(7, type, { id: 'o-2', amount: 3, note: null, status: 'NEW' });
    const before = requests.length;
    assert.equal(
      (await registry.decode(a)).toString(),
      '{"id":"o-1","amount":12.5,"note":{"string":"gift"},"status":"PAID"}',
    );
    assert.deepEqual(JSON.parse((await registry.decode(b)).toString()), {
      id: 'o-2',
      amount: 3,
      note: null,
      status: 'NEW',
    });
    assert.equal(requests.length - before, 1, 'the schema is fetched once');
    assert.equal(requests.at(-1)!.path, '/registry/schemas/ids/7');
    assert.equal(requests.at(-1)!.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    // Once fetched, the synchronous path (the exactly-once loop's) decodes too.
    assert.equal(
      JSON.parse(registry.decodeCached(b)!.toString())['id'],
      'o-2',
      'decodeCached after the fetch',
    );
  });

  it('refuses what cannot be decoded with AvroDecodeError: not the wire format, unknown id, not Avro, a corrupt body', async () => {
    const registry = new AvroSchemaRegistry(url);
    await assert.rejects(registry.decode(Buffer.from('{"plain":"json"}')), AvroDecodeError);
    await assert.rejects(registry.decode(null), AvroDecodeError);
    const unknown = Buffer.from([0, 0, 0, 0, 99, 1, 2]);
    await assert.rejects(registry.decode(unknown), /has no schema 99/);
    // Remembered: the synchronous path refuses it without asking again.
    const before = requests.length;
    assert.throws(() => registry.decodeCached(unknown), AvroDecodeError);
    await registry.prefetch([99]);
    assert.equal(requests.length, before);
    await assert.rejects(registry.decode(Buffer.from([0, 0, 0, 0, 8, 0])), /PROTOBUF/);
    await assert.rejects(
      registry.decode(Buffer.from([0, 0, 0, 0, 7, 0xff, 0xff, 0xff])),
      /does not decode with schema 7/,
    );
  });

  it('a registry that cannot be reached is an ordinary error (the message comes again), asked again next time', async () => {
    const down = createServer();
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const port = (down.address() as AddressInfo).port;
    await new Promise<void>((r) => down.close(() => r()));
    const registry = new AvroSchemaRegistry(`http://127.0.0.1:${port}`);
    const value = Buffer.from([0, 0, 0, 0, 7, 0]);
    await assert.rejects(
      registry.prefetch([7]),
      (err: unknown) => !(err instanceof AvroDecodeError),
    );
    assert.equal(registry.decodeCached(value), undefined, 'nothing cached after a failure');
    // The same port now answers: the next attempt asks again and succeeds.
    const up = createServer((_req, res) => res.end(JSON.stringify({ schema: '"string"' })));
    await new Promise<void>((r) => up.listen(port, '127.0.0.1', r));
    try {
      const str = avro.Type.forSchema('string');
      const ok = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), str.toBuffer('hi')]);
      assert.equal((await registry.decode(ok)).toString(), '"hi"');
    } finally {
      up.close();
    }
  });
});
