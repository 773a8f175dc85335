import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildPayload, resolveParameterSource } from './parameters.js';
import type { EventsByDependency } from './event.js';

const events: EventsByDependency = {
  d: {
    context: { id: '1', source: 'webhook', specversion: '1.0', type: 'webhook', subject: 'ex' },
    data: { a: 'x', n: 2 },
  },
};

describe('parameters with templates (Argo resolution order)', () => {
  it('dataTemplate renders with .Input', () =>
    assert.deepEqual(
      buildPayload(
        [{ src: { dependencyName: 'd', dataTemplate: '{{ .Input.a | upper }}' }, dest: 'v' }],
        events,
      ),
      { v: 'X' },
    ));
  it('contextTemplate renders the context', () =>
    assert.deepEqual(
      buildPayload(
        [{ src: { dependencyName: 'd', contextTemplate: '{{ .Input.type }}' }, dest: 'v' }],
        events,
      ),
      { v: 'webhook' },
    ));
  it('failed template falls back to the key', () =>
    assert.deepEqual(
      buildPayload(
        [
          {
            src: { dependencyName: 'd', dataTemplate: '{{ .Input.nope }}', dataKey: 'a' },
            dest: 'v',
          },
        ],
        events,
      ),
      { v: 'x' },
    ));
  it('then to value', () =>
    assert.deepEqual(
      buildPayload(
        [
          {
            src: { dependencyName: 'd', dataTemplate: '{{ .Input.nope }}', value: 'def' },
            dest: 'v',
          },
        ],
        events,
      ),
      { v: 'def' },
    ));
  it('missing dependency with no value is skipped', () =>
    assert.equal(
      resolveParameterSource(
        { src: { dependencyName: 'other', dataTemplate: '{{ .Input }}' }, dest: 'v' },
        events,
      ),
      undefined,
    ));
  it('template failure without fallback throws', () =>
    assert.throws(
      () =>
        buildPayload(
          [{ src: { dependencyName: 'd', dataTemplate: '{{ .Input.nope }}' }, dest: 'v' }],
          events,
        ),
      /dataTemplate failed/,
    ));
});

/** Argo's `ResolveParamValue` (`pkg/sensors/triggers/params.go`), each case named after the behaviour. */
describe('parameters mean what they mean in Argo', () => {
  const ctx = events['d']!.context;
  const cases: [name: string, src: Record<string, unknown>, want: unknown][] = [
    ['with both contextKey and dataKey set, data wins', { contextKey: 'type', dataKey: 'a' }, 'x'],
    [
      'with contextTemplate and dataKey set, data wins',
      { contextTemplate: '{{ .Input.type }}', dataKey: 'a' },
      'x',
    ],
    [
      'with contextKey and dataTemplate set, the data template wins',
      { contextKey: 'type', dataTemplate: '{{ .Input.a }}' },
      'x',
    ],
    [
      'a dataTemplate result is inserted as a string even with useRawData',
      { dataTemplate: '{{ toJson .Input }}', useRawData: true },
      '{"a":"x","n":2}',
    ],
    [
      'a dataKey number with useRawData is inserted unquoted',
      { dataKey: 'n', useRawData: true },
      2,
    ],
    ['a dataKey number without useRawData is inserted as its text', { dataKey: 'n' }, '2'],
    [
      "an empty dataKey is unset, as Go's zero value: the context key applies",
      { dataKey: '', contextKey: 'type' },
      'webhook',
    ],
    [
      "a whole-event parameter (no key) carries data base64-encoded, as Argo's JSON of its Event",
      {},
      JSON.stringify({ context: ctx, data: Buffer.from('{"a":"x","n":2}').toString('base64') }),
    ],
    [
      'a whole-event parameter is a string even with useRawData',
      { useRawData: true },
      JSON.stringify({ context: ctx, data: Buffer.from('{"a":"x","n":2}').toString('base64') }),
    ],
    ['a whole-event parameter with a value takes the value', { value: 'def' }, 'def'],
  ];
  for (const [name, src, want] of cases)
    it(name, () =>
      assert.deepEqual(
        buildPayload([{ src: { dependencyName: 'd', ...src }, dest: 'v' }], events),
        { v: want },
      ),
    );
  it('a whole-event parameter of a text event base64-encodes the text', () => {
    const text: EventsByDependency = { d: { context: ctx, data: 'hello' } };
    const v = (buildPayload([{ src: { dependencyName: 'd' }, dest: 'v' }], text) as { v: string })
      .v;
    assert.equal(
      Buffer.from((JSON.parse(v) as { data: string }).data, 'base64').toString(),
      'hello',
    );
  });
});
