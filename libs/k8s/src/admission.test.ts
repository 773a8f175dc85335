import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewAdmission, type AdmissionRequest } from './admission.js';

const sensor = (url: string) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Sensor',
  metadata: { name: 's', namespace: 'n' },
  spec: {
    dependencies: [{ name: 'd', eventSourceName: 'e', eventName: 'x' }],
    triggers: [{ template: { name: 't', http: { url, method: 'POST' } } }],
  },
});
const bus = (kafka: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'EventBus',
  metadata: { name: 'default', namespace: 'n' },
  spec: { kafka, ...extra },
});
const req = (
  kind: string,
  operation: AdmissionRequest['operation'],
  object: unknown,
  oldObject?: unknown,
): AdmissionRequest =>
  ({
    uid: 'u1',
    kind: { group: 'argoproj.io', version: 'v1alpha1', kind },
    operation,
    object,
    oldObject,
  }) as AdmissionRequest;

const cases: { name: string; request: AdmissionRequest; allowed: boolean; message?: RegExp }[] = [
  {
    name: 'valid sensor create',
    request: req('Sensor', 'CREATE', sensor('http://x/y')),
    allowed: true,
  },
  {
    name: 'invalid sensor create names the field',
    request: req('Sensor', 'CREATE', sensor('nope')),
    allowed: false,
    message:
      /^Sensor "s" is invalid: spec\.triggers\[0\]\.template\.http\.url: "nope" is not an http\(s\) URL$/,
  },
  {
    name: 'metadata-only update of an invalid object is allowed',
    request: req('Sensor', 'UPDATE', sensor('nope'), sensor('nope')),
    allowed: true,
  },
  {
    name: 'eventbus kafka url change allowed',
    request: req('EventBus', 'UPDATE', bus({ url: 'b:9092' }), bus({ url: 'a:9092' })),
    allowed: true,
  },
  {
    name: 'eventbus type change denied',
    request: req(
      'EventBus',
      'UPDATE',
      { ...bus(undefined), spec: { nats: { native: {} } } },
      bus({ url: 'a:9092' }),
    ),
    allowed: false,
    message: /spec: the EventBus type cannot be changed \(from kafka to nats\)/,
  },
  {
    name: 'eventbus sasl mechanism immutable',
    request: req(
      'EventBus',
      'UPDATE',
      bus({ url: 'a:9092', sasl: { mechanism: 'SCRAM-SHA-512' } }),
      bus({ url: 'a:9092', sasl: { mechanism: 'PLAIN' } }),
    ),
    allowed: false,
    message: /spec\.kafka\.sasl\.mechanism: the SASL mechanism is immutable/,
  },
  {
    name: 'delete is not reviewed',
    request: req('EventBus', 'DELETE', null, bus({})),
    allowed: true,
  },
  {
    name: 'other groups pass',
    request: {
      ...req('Sensor', 'CREATE', {}),
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    },
    allowed: true,
  },
];

for (const c of cases)
  test(`admission: ${c.name}`, () => {
    const res = reviewAdmission(c.request);
    assert.equal(res.uid, 'u1');
    assert.equal(res.allowed, c.allowed, JSON.stringify(res));
    if (c.message) assert.match(res.status!.message, c.message);
    if (!c.allowed) assert.equal(res.status!.code, 400);
  });

test('admission: a valid EventSource of a type added last (hdfs) is allowed without warnings', () => {
  const es = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'EventSource',
    metadata: { name: 'q', namespace: 'n' },
    spec: {
      hdfs: {
        build: {
          directory: '/ci',
          path: 'job.json',
          type: 'CREATE',
          addresses: ['hdfs.example:8020'],
          hdfsUser: 'ci',
        },
      },
    },
  };
  const res = reviewAdmission(req('EventSource', 'CREATE', es));
  assert.equal(res.allowed, true);
  assert.equal(res.warnings, undefined);
  const webhook = {
    ...es,
    spec: { webhook: { a: { port: '12000', endpoint: '/a', method: 'POST' } } },
  };
  assert.equal(reviewAdmission(req('EventSource', 'CREATE', webhook)).warnings, undefined);
});
