import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseManifests } from './manifests.js';
import { validateResource } from './validate.js';
import { EVENT_SOURCE_TYPES, TRIGGER_TYPES } from './types.js';
import { eventSourceTypes } from './schema/event-source.schema.js';
import { triggerTypes } from './schema/sensor.schema.js';

const fixture = (name: string) => readFileSync(new URL(`../src/fixtures/${name}`, import.meta.url), 'utf8');

for (const file of ['event-sources.valid.yaml', 'sensors.valid.yaml', 'event-bus.valid.yaml'])
  test(`valid fixtures: ${file} has no issues`, () => {
    for (const doc of parseManifests(fixture(file), { strict: true })) assert.deepEqual(doc.issues, [], `document ${doc.index}`);
  });

test('fixtures cover every source and trigger type, and the schema knows every type', () => {
  const text = fixture('event-sources.valid.yaml') + fixture('sensors.valid.yaml');
  for (const t of EVENT_SOURCE_TYPES) assert.match(text, new RegExp(`\\n  ${t}:\\n`), t);
  for (const t of TRIGGER_TYPES) assert.match(text, new RegExp(`\\n {8}${t}:`), t);
  assert.deepEqual(Object.keys(eventSourceTypes).sort(), [...EVENT_SOURCE_TYPES].sort());
  assert.deepEqual(Object.keys(triggerTypes).sort(), [...TRIGGER_TYPES].sort());
});

const es = (spec: unknown) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'EventSource', metadata: { name: 'es' }, spec });
const sensor = (triggers: unknown[], deps: unknown[] = [{ name: 'd', eventSourceName: 'es', eventName: 'e' }]) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Sensor',
  metadata: { name: 's' },
  spec: { dependencies: deps, triggers },
});
const log = (extra: object = {}) => ({ template: { name: 't', log: {}, ...extra } });
const wh = { port: '12000', endpoint: '/x', method: 'POST' };

const broken: [string, unknown, string][] = [
  ['webhook without port', es({ webhook: { a: { endpoint: '/x', method: 'POST' } } }), 'spec.webhook.a.port: is required'],
  ['webhook port as a number', es({ webhook: { a: { ...wh, port: 12000 } } }), 'spec.webhook.a.port: must be a string, got a number (quote it: "12000")'],
  ['webhook endpoint without slash', es({ webhook: { a: { ...wh, endpoint: 'x' } } }), 'spec.webhook.a.endpoint: must start with "/", got "x"'],
  ['duplicate event names across types', es({ webhook: { a: wh }, github: { a: { webhook: wh, events: ['push'], organizations: ['o'] } } }), 'spec.webhook.a: event name "a" is already used by spec.github.a; event names must be unique across all types'],
  ['mixed leader-elected and active-active', es({ webhook: { a: wh }, calendar: { b: { interval: '10s' } } }), 'spec: cannot mix leader-elected source types (calendar) with active-active types (webhook); split them into separate EventSources'],
  ['unknown source type', es({ webhok: { a: wh } }), 'spec.webhok: unknown event source type (known: ' + EVENT_SOURCE_TYPES.join(', ') + ')'],
  ['calendar bad cron', es({ calendar: { a: { schedule: '61 * * * *' } } }), 'spec.calendar.a.schedule: minute field "61": 61 is out of range 0-59'],
  ['calendar bad timezone', es({ calendar: { a: { interval: '1m', timezone: 'Mars/Olympus' } } }), 'spec.calendar.a.timezone: "Mars/Olympus" is not a known IANA time zone (e.g. "UTC", "Europe/Paris", "America/New_York")'],
  ['calendar without schedule or interval', es({ calendar: { a: {} } }), 'spec.calendar.a: either schedule or interval is required'],
  ['kafka source without topic', es({ kafka: { a: { url: 'k:9092', partition: '0' } } }), 'spec.kafka.a.topic: is required'],
  ['github without repositories', es({ github: { a: { webhook: wh, events: ['push'] } } }), 'spec.github.a: either repositories or organizations is required'],
  ['no dependencies', sensor([log()], []), 'spec.dependencies: must not be empty'],
  ['dependency without eventName', sensor([log()], [{ name: 'd', eventSourceName: 'es' }]), 'spec.dependencies[0].eventName: is required'],
  ['http trigger without url', sensor([{ template: { name: 't', http: { method: 'POST' } } }]), 'spec.triggers[0].template.http.url: is required'],
  ['http trigger bad method', sensor([{ template: { name: 't', http: { url: 'http://x', method: 'HEAD' } } }]), 'spec.triggers[0].template.http.method: must be one of GET, DELETE, PATCH, POST, PUT, got "HEAD"'],
  ['kafka trigger without payload', sensor([{ template: { name: 't', kafka: { url: 'k:9092', topic: 't' } } }]), 'spec.triggers[0].template.kafka.payload: is required'],
  ['email trigger port out of range', sensor([{ template: { name: 't', email: { host: 'h', port: 70000 } } }]), 'spec.triggers[0].template.email.port: must be at most 65535, got 70000'],
  ['custom trigger secure without certSecret', sensor([{ template: { name: 't', custom: { serverURL: 'x:1', spec: {}, secure: true } } }]), 'spec.triggers[0].template.custom.certSecret: is required when secure is true'],
  ['two trigger types', sensor([{ template: { name: 't', log: {}, http: { url: 'http://x' } } }]), 'spec.triggers[0].template: exactly one trigger type must be set, got log, http'],
  ['duplicate trigger names', sensor([log(), log()]), 'spec.triggers[1].template.name: duplicate trigger name "t" (also spec.triggers[0])'],
  ['conditions reference unknown dependency', sensor([log({ conditions: 'd && e' })]), 'spec.triggers[0].template.conditions: "e" is not a dependency of this sensor (have: d)'],
  ['conditions syntax error', sensor([log({ conditions: 'd &&' })]), 'spec.triggers[0].template.conditions: "d &&": expected a dependency name or "(" at the end'],
  ['conditionsReset bad cron', sensor([log({ conditionsReset: [{ byTime: { cron: '* * *' } }] })]), 'spec.triggers[0].template.conditionsReset[0].byTime.cron: "* * *" has 3 fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)'],
  ['parameter without dest', sensor([{ ...log(), parameters: [{ src: { dependencyName: 'd' } }] }]), 'spec.triggers[0].parameters[0].dest: is required'],
  ['parameter unknown dependency', sensor([{ ...log(), parameters: [{ src: { dependencyName: 'x' }, dest: 'a' }] }]), 'spec.triggers[0].parameters[0].src.dependencyName: "x" is not a dependency of this sensor (have: d)'],
  ['dlqTrigger without atLeastOnce', sensor([{ ...log(), dlqTrigger: { template: { name: 'dlq', log: {} } } }]), 'spec.triggers[0].dlqTrigger: requires atLeastOnce: true on both the trigger and its dlqTrigger'],
  ['data filter bad comparator', sensor([log()], [{ name: 'd', eventSourceName: 'es', eventName: 'e', filters: { data: [{ path: 'a', type: 'number', value: ['1'], comparator: '=>' }] } }]), 'spec.dependencies[0].filters.data[0].comparator: must be one of >=, >, =, !=, <, <=, got "=>"'],
  ['data filter number value', sensor([log()], [{ name: 'd', eventSourceName: 'es', eventName: 'e', filters: { data: [{ path: 'a', type: 'number', value: ['ten'] }] } }]), 'spec.dependencies[0].filters.data[0].value[0]: "ten" is not a number'],
  ['expr filter without fields', sensor([log()], [{ name: 'd', eventSourceName: 'es', eventName: 'e', filters: { exprs: [{ expr: 'a > 1' }] } }]), 'spec.dependencies[0].filters.exprs[0].fields: is required'],
  ['empty context filter', sensor([log()], [{ name: 'd', eventSourceName: 'es', eventName: 'e', filters: { context: {} } }]), 'spec.dependencies[0].filters.context: at least one of type, subject, source or datacontenttype must be set'],
  ['time filter bad time', sensor([log()], [{ name: 'd', eventSourceName: 'es', eventName: 'e', filters: { time: { start: '25:00:00', stop: '01:00:00' } } }]), 'spec.dependencies[0].filters.time.start: "25:00:00" is not a time of day "hh:mm:ss"'],
  ['bad filtersLogicalOperator', sensor([log()], [{ name: 'd', eventSourceName: 'es', eventName: 'e', filtersLogicalOperator: 'xor' }]), 'spec.dependencies[0].filtersLogicalOperator: must be one of and, or, got "xor"'],
  ['eventbus with two kinds', { apiVersion: 'argoproj.io/v1alpha1', kind: 'EventBus', metadata: { name: 'b' }, spec: { kafka: {}, jetstream: { version: 'latest' } } }, 'spec: exactly one of kafka, nats, jetstream or jetstreamExotic must be set, got jetstream, kafka'],
  ['eventbus nats rejected', { apiVersion: 'argoproj.io/v1alpha1', kind: 'EventBus', metadata: { name: 'b' }, spec: { nats: { native: {} } } }, 'spec.nats: Ganglion runs on Kafka only; replace spec.nats with spec.kafka, e.g. "spec: {kafka: {topic: <namespace>-<name>}}" (url defaults to the installation\'s brokers)'],
];

for (const [name, doc, expected] of broken)
  test(`broken: ${name}`, () => {
    const messages = validateResource(doc).filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`);
    assert.ok(messages.includes(expected), `expected\n  ${expected}\ngot\n  ${messages.join('\n  ')}`);
  });

test('unknown field: warning by default, error under strict, with a suggestion', () => {
  const doc = es({ webhook: { a: { ...wh, fitler: {} } } });
  assert.deepEqual(validateResource(doc), [
    { path: 'spec.webhook.a.fitler', message: 'unknown field "fitler" (did you mean "filter"?); it is ignored', severity: 'warning' },
  ]);
  assert.equal(validateResource(doc, { strict: true })[0]?.severity, 'error');
});

test('property: random and malformed documents produce issues, never a crash', () => {
  const kinds = fc.constantFrom('EventSource', 'Sensor', 'EventBus', 'Other');
  fc.assert(
    fc.property(fc.anything(), kinds, fc.anything(), (spec, kind, meta) => {
      const issues = validateResource({ apiVersion: 'argoproj.io/v1alpha1', kind, metadata: meta, spec });
      assert.ok(issues.length > 0);
    }),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(fc.string(), (text) => void parseManifests(text)), { numRuns: 500 });
});
