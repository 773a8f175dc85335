import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCloudEvent, encodeCloudEvent, eventData } from '@ganglion/eventbus';
import { buildCloudEvent, cloudEventRecord, type EventAttributes } from './cloudevent.js';
import { canonicalHeaderKey, goHeader } from './headers.js';

const time = new Date('2026-11-23T09:00:00.123Z');
const base: EventAttributes = {
  id: '0f3c9a',
  type: 'webhook',
  source: 'alerts',
  subject: 'example',
  time,
  data: null,
};

type Message = Parameters<typeof decodeCloudEvent>[0];
const message = (r: { key: string; value: Buffer; headers: Record<string, string> }): Message =>
  ({
    key: Buffer.from(r.key),
    value: r.value,
    headers: r.headers,
    timestamp: '0',
    attributes: 0,
    offset: '0',
  }) as unknown as Message;

/** What the `cloudevents` package writes for the same attributes. */
function packageRecord(a: EventAttributes, key: string) {
  return encodeCloudEvent(buildCloudEvent(a), key);
}

describe('cloudEventRecord (the ingress hot path) writes what the cloudevents package writes', () => {
  const cases: [string, EventAttributes][] = [
    [
      'object data',
      {
        ...base,
        data: {
          header: { 'Content-Type': ['application/json'] },
          body: { status: 'firing', n: 1.5, s: 'é ✓' },
          metadata: {},
        },
      },
    ],
    ['null data', { ...base, data: null }],
    ['undefined data', { ...base, data: undefined }],
    ['string data (written as is)', { ...base, data: 'plain text' }],
    ['array and number data', { ...base, data: [1, 2, 3] }],
    ['number data', { ...base, data: 42 }],
    [
      'an incoming CloudEvent kept as extensions',
      {
        ...base,
        data: { a: 1 },
        incoming: {
          id: 'x',
          source: 'https://example.com/src',
          type: 'com.example.t',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          tracestate: 'k=v',
        },
      },
    ],
    ['only some incoming attributes', { ...base, data: {}, incoming: { type: 'com.example.t' } }],
    ['a dotted EventSource name', { ...base, source: 'team-a.alerts-1', data: {} }],
  ];
  for (const [name, attrs] of cases)
    it(name, () => {
      const fast = cloudEventRecord(attrs, 'alerts.example');
      const pkg = packageRecord(attrs, 'alerts.example');
      assert.deepEqual(
        Object.entries(fast.headers),
        Object.entries(pkg.headers),
        'same headers in the same order',
      );
      assert.equal(fast.value.toString('utf8'), pkg.value.toString('utf8'));
      assert.equal(fast.key, pkg.key);
      if (typeof attrs.data === 'string') return; // the package writes a string as is and cannot read it back as JSON
      // And it decodes with the package to the same event.
      const decoded = decodeCloudEvent(message(fast));
      assert.equal(decoded.id, attrs.id);
      assert.equal(decoded.source, attrs.source);
      assert.equal(decoded.time, time.toISOString());
      assert.deepEqual(eventData(decoded), eventData(decodeCloudEvent(message(pkg))));
    });

  it('takes the package path (and its validation) for what it would have to check or convert', () => {
    const noId = { ...base, id: '' };
    const r = cloudEventRecord(noId, 'k');
    assert.match(r.headers['ce_id']!, /^[0-9a-f-]{36}$/, 'the package gives an empty id a UUID');
    assert.deepEqual(Object.keys(r.headers), Object.keys(packageRecord(noId, 'k').headers));
    const binary = cloudEventRecord({ ...base, data: Buffer.from([1, 2, 3]) }, 'k');
    assert.deepEqual(
      Object.entries(binary.headers),
      Object.entries(packageRecord({ ...base, data: Buffer.from([1, 2, 3]) }, 'k').headers),
    );
    const odd = { ...base, source: 'https://example.com/a b' };
    assert.throws(() => packageRecord(odd, 'k'), /uri-reference/);
    assert.throws(
      () => cloudEventRecord(odd, 'k'),
      /uri-reference/,
      'a source that is no URI-reference is refused as before',
    );
    const uri = { ...base, source: 'https://example.com/a' };
    assert.deepEqual(cloudEventRecord(uri, 'k').headers, packageRecord(uri, 'k').headers);
  });

  it('stamps the current time when none is given', () => {
    const before = Date.now();
    const r = cloudEventRecord({ ...base, time: undefined, data: {} } as EventAttributes, 'k');
    const t = Date.parse(r.headers['ce_time']!);
    assert.ok(t >= before && t <= Date.now());
  });
});

describe('canonical header keys (cached)', () => {
  it("are Go's canonical form, the same on every call", () => {
    for (let i = 0; i < 2; i++) {
      assert.equal(canonicalHeaderKey('content-type'), 'Content-Type');
      assert.equal(canonicalHeaderKey('x-GITHUB-event'), 'X-Github-Event');
      assert.equal(canonicalHeaderKey('ce-id'), 'Ce-Id');
    }
    assert.deepEqual(goHeader({ 'x-a': ['1', '2'], host: ['h'] }), {
      'X-A': ['1', '2'],
      Host: ['h'],
    });
  });
});
