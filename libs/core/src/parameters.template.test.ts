import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildPayload, resolveParameterSource } from './parameters.js';
import type { EventsByDependency } from './event.js';

const events: EventsByDependency = { d: { context: { id: '1', source: 'webhook', specversion: '1.0', type: 'webhook', subject: 'ex' }, data: { a: 'x', n: 2 } } };

describe('parameters with templates (Argo resolution order)', () => {
  it('dataTemplate renders with .Input', () => assert.deepEqual(buildPayload([{ src: { dependencyName: 'd', dataTemplate: '{{ .Input.a | upper }}' }, dest: 'v' }], events), { v: 'X' }));
  it('contextTemplate renders the context', () => assert.deepEqual(buildPayload([{ src: { dependencyName: 'd', contextTemplate: '{{ .Input.type }}' }, dest: 'v' }], events), { v: 'webhook' }));
  it('failed template falls back to the key', () => assert.deepEqual(buildPayload([{ src: { dependencyName: 'd', dataTemplate: '{{ .Input.nope }}', dataKey: 'a' }, dest: 'v' }], events), { v: 'x' }));
  it('then to value', () => assert.deepEqual(buildPayload([{ src: { dependencyName: 'd', dataTemplate: '{{ .Input.nope }}', value: 'def' }, dest: 'v' }], events), { v: 'def' }));
  it('missing dependency with no value is skipped', () => assert.equal(resolveParameterSource({ src: { dependencyName: 'other', dataTemplate: '{{ .Input }}' }, dest: 'v' }, events), undefined));
  it('useRawData inserts template JSON unquoted', () => assert.deepEqual(buildPayload([{ src: { dependencyName: 'd', dataTemplate: '{{ toJson .Input }}', useRawData: true }, dest: 'v' }], events), { v: { a: 'x', n: 2 } }));
  it('template failure without fallback throws', () => assert.throws(() => buildPayload([{ src: { dependencyName: 'd', dataTemplate: '{{ .Input.nope }}' }, dest: 'v' }], events), /dataTemplate failed/));
});
