/**
 * Validation of argoproj.io/v1alpha1 manifests: the schema-driven structural walk plus Argo's
 * semantic rules (`pkg/reconciler/{eventsource,sensor,eventbus}/validate.go`) and Ganglion's own
 * (Kafka-only EventBus). Every issue names its field path.
 */
import {
  Collector,
  isObj,
  suggest,
  typeName,
  walk,
  type Obj,
  type ObjectRule,
  type ValidationIssue,
  type WalkContext,
} from './schema-walk.js';
import { onlyOne, set, webhookContextRule } from './common.rules.js';
import { sourceModels } from './eventsources/source.registry.js';
import { triggerModels } from './triggers/trigger.registry.js';
import { rulesOf } from './type-model.js';
import { EventBusSpec } from './schema/event-bus.schema.js';
import { EventSourceSpec } from './schema/event-source.schema.js';
import { SensorSpec, Trigger } from './schema/sensor.schema.js';
import { checkRegex, parseConditionNames } from './syntax.check.js';
import { parseNanosOrGoDuration } from './grammar/go-duration.grammar.js';
import { API_VERSION, EVENT_SOURCE_TYPES, KINDS, TRIGGER_TYPES, type Kind } from './types.js';

export type { ValidationIssue } from './schema-walk.js';

export function formatIssue(i: ValidationIssue): string {
  return `${i.path}: ${i.message}`;
}

export interface ValidateOptions {
  /** Report unknown and deprecated fields as errors instead of warnings (`ganglion lint --strict`). */
  strict?: boolean;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Source types run active-passive behind a leader elector (Argo `RecreateStrategyEventSources`). */
const LEADER_ELECTED_SOURCE_TYPES: readonly string[] = [
  'amqp',
  'calendar',
  'kafka',
  'pubSub',
  'azureEventsHub',
  'azureServiceBus',
  'nats',
  'mqtt',
  'minio',
  'emitter',
  'nsq',
  'pulsar',
  'redis',
  'redisStream',
  'resource',
  'hdfs',
  'file',
  'sftp',
  'generic',
];

const tlsRule: ObjectRule = (v, path, { c }) => {
  if (set(v['clientCertSecret']) !== set(v['clientKeySecret']))
    c.error(path, 'clientCertSecret and clientKeySecret must be set together');
};

/**
 * Rules of the schema objects that are not one type's, keyed by schema object name; each source
 * and trigger type's own rules are in its model (./eventsources, ./triggers) and reached through
 * the registries. `deps` is the sensor's dependency names, when validating a Sensor.
 */
function rulesFor(deps: Set<string> | undefined): Record<string, ObjectRule> {
  const parameterRule: ObjectRule = (p, path, { c }) => {
    // Argo allows an empty dest only in an HTTP trigger's payload (the value becomes the whole body).
    if (p['dest'] === '' && !/\.http\.payload\[\d+\]$/.test(path))
      c.error(
        `${path}.dest`,
        "must not be empty (only an HTTP trigger's payload may use an empty dest for the whole body)",
      );
    const src = p['src'];
    const dep = isObj(src) ? src['dependencyName'] : undefined;
    // Argo only requires it non-empty: a trigger-level parameter may overwrite it, and at run time
    // a parameter whose dependency has no event takes its `value`, or is skipped.
    if (deps && typeof dep === 'string' && dep !== '' && !deps.has(dep))
      c.warn(
        `${path}.src.dependencyName`,
        `"${dep}" is not a dependency of this sensor (have: ${[...deps].join(', ')}); at run time the parameter takes src.value, or is skipped`,
      );
  };
  return {
    WebhookContext: webhookContextRule,
    TLSConfig: tlsRule,
    WatchPathConfig: (v, path, { c }) => onlyOne(v, 'path', 'pathRegexp', path, c),
    Backoff: (v, path, { c }) => {
      // The runtime's own parser (libs/core backoff), so admission and execution agree.
      const d = v['duration'];
      if (typeof d !== 'string' || d === '') return;
      let ns: number;
      try {
        ns = parseNanosOrGoDuration(d);
      } catch {
        c.error(
          `${path}.duration`,
          `"${d}" is not a duration (integer nanoseconds or e.g. "1s", "500ms")`,
        );
        return;
      }
      if (ns < 0) c.error(`${path}.duration`, `"${d}" must not be negative`);
    },
    EventContext: (v, path, { c }) => {
      if (
        !['type', 'subject', 'source', 'datacontenttype', 'id', 'specversion', 'time'].some((k) =>
          set(v[k]),
        )
      )
        c.error(path, 'at least one of type, subject, source or datacontenttype must be set');
    },
    DataFilter: (v, path, { c }) => {
      const type = v['type'];
      const comparator = (v['comparator'] as string | undefined) ?? '';
      const values = Array.isArray(v['value']) ? v['value'] : [];
      values.forEach((x, i) => {
        if (typeof x !== 'string') return;
        const p = `${path}.value[${i}]`;
        if (x === '') return c.error(p, 'must not be empty');
        if (type === 'number' && (x.trim() === '' || Number.isNaN(Number(x))))
          c.error(p, `"${x}" is not a number`);
        if (
          type === 'bool' &&
          ![
            '1',
            't',
            'T',
            'TRUE',
            'true',
            'True',
            '0',
            'f',
            'F',
            'FALSE',
            'false',
            'False',
          ].includes(x)
        )
          c.error(p, `"${x}" is not a bool (true or false)`);
        // RE2, the runtime's engine (and Go's): `(?i)^push$` is valid, `(?<=a)b` is not.
        if (type === 'string') {
          const bad = checkRegex(x);
          if (bad) c.error(p, bad);
        }
      });
      if ((type === 'string' || type === 'bool') && !['', '=', '!='].includes(comparator))
        c.warn(
          `${path}.comparator`,
          `"${comparator}" does not apply to ${type} values; only = and != do`,
        );
    },
    TimeFilter: (v, path, { c }) => {
      if (v['start'] === v['stop'])
        c.error(path, `stop "${String(v['stop'])}" equals start, so the window is empty`);
    },
    TriggerParameter: parameterRule,
    TriggerTemplate: (t, path, { c }) => {
      const types = Object.keys(t).filter(
        (k) => (TRIGGER_TYPES as readonly string[]).includes(k) && set(t[k]),
      );
      if (types.length !== 1)
        c.error(
          path,
          `exactly one trigger type must be set, got ${types.length ? types.join(', ') : `none (known: ${TRIGGER_TYPES.join(', ')})`}`,
        );
      const cond = t['conditions'];
      if (typeof cond === 'string' && cond.trim() !== '') {
        const parsed = parseConditionNames(cond);
        if ('error' in parsed) c.error(`${path}.conditions`, `"${cond}": ${parsed.error}`);
        else if (deps)
          for (const n of new Set(parsed.names))
            if (!deps.has(n))
              c.error(
                `${path}.conditions`,
                `"${n}" is not a dependency of this sensor (have: ${[...deps].join(', ')})`,
              );
      }
    },
    Trigger: (t, path, { c }) => {
      const dlq = t['dlqTrigger'];
      if (isObj(dlq) && (t['atLeastOnce'] !== true || dlq['atLeastOnce'] !== true))
        c.error(
          `${path}.dlqTrigger`,
          'requires atLeastOnce: true on both the trigger and its dlqTrigger',
        );
    },
    ExprFilter: () => undefined,
  };
}

/**
 * Argo's CRDs preserve unknown fields and its controller ignores them, so an unknown key under an
 * EventSource `spec` (e.g. the legacy `spec.type`) or a trigger `template` is a warning; a
 * template with no known trigger type is still an error (the `TriggerTemplate` rule). A
 * `Trigger` field placed inside `template` (`atLeastOnce`, `policy`: a common slip in Argo's own
 * examples) gets a warning saying where it belongs.
 */
const unknownFieldHandlers: WalkContext['unknownField'] = {
  EventSourceSpec: (k, p, { c }) =>
    c.warn(p, `unknown field "${k}"${suggest(k, EVENT_SOURCE_TYPES)}; it is ignored, as in Argo`),
  TriggerTemplate: (k, p, { c }) => {
    if (k in Trigger.properties && k !== 'template')
      c.warn(
        p,
        `"${k}" belongs on the trigger (${p.replace(/\.template\.[^.]+$/, '')}.${k}), not inside template; it is ignored here, as in Argo`,
      );
    else c.warn(p, `unknown field "${k}"${suggest(k, TRIGGER_TYPES)}; it is ignored, as in Argo`);
  },
};

/**
 * Validates a parsed manifest object. Returns every issue found (errors and warnings), each
 * naming its field. Unknown and deprecated fields are warnings unless `strict`.
 */
export function validateResource(doc: unknown, options: ValidateOptions = {}): ValidationIssue[] {
  const c = new Collector(options.strict ?? false);
  if (!isObj(doc)) {
    c.error('(document)', `must be an object, got ${typeName(doc)}`);
    return c.issues;
  }
  if (doc['apiVersion'] !== API_VERSION)
    c.error(
      'apiVersion',
      `must be ${API_VERSION}, got ${JSON.stringify(doc['apiVersion'] ?? null)}`,
    );
  const kind = doc['kind'];
  if (!KINDS.includes(kind as Kind)) {
    c.error('kind', `must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind ?? null)}`);
    return c.issues;
  }
  for (const k of Object.keys(doc))
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k))
      c.warn(k, `unknown top-level field "${k}"; it is ignored`);
  const meta = doc['metadata'];
  if (!isObj(meta)) c.error('metadata', 'is required');
  else {
    const name = c.requireString(meta, 'name', 'metadata');
    if (name !== undefined && (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)))
      c.error(
        'metadata.name',
        `"${name}" is not a valid name (lower-case letters, digits, '-' and '.')`,
      );
    const ns = c.optionalString(meta, 'namespace', 'metadata');
    if (ns !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns))
      c.error('metadata.namespace', `"${ns}" is not a valid namespace`);
  }
  const spec = doc['spec'];
  if (!isObj(spec)) {
    c.error(
      'spec',
      spec === undefined || spec === null
        ? 'is required'
        : `must be an object, got ${typeName(spec)}`,
    );
    return c.issues;
  }
  if (kind === 'EventBus') validateEventBus(spec, c);
  else if (kind === 'EventSource') validateEventSource(spec, c);
  else validateSensor(spec, c);
  return c.issues;
}

function validateEventBus(spec: Obj, c: Collector): void {
  const kinds = ['nats', 'jetstream', 'jetstreamExotic', 'kafka'].filter(
    (k) => spec[k] !== undefined && spec[k] !== null,
  );
  if (kinds.length !== 1)
    c.error(
      'spec',
      `exactly one of kafka, nats, jetstream or jetstreamExotic must be set, got ${kinds.length ? kinds.join(', ') : 'none'}`,
    );
  for (const k of ['nats', 'jetstream', 'jetstreamExotic'])
    if (spec[k] !== undefined && spec[k] !== null)
      c.error(
        `spec.${k}`,
        `Ganglion runs on Kafka only; replace spec.${k} with spec.kafka, e.g. "spec: {kafka: {topic: <namespace>-<name>}}" ` +
          "(url defaults to the installation's brokers)",
      );
  const { nats: _n, jetstream: _j, jetstreamExotic: _e, ...rest } = spec;
  walk(EventBusSpec, rest, 'spec', { c, rules: {} });
  const kafka = spec['kafka'];
  if (!isObj(kafka)) return;
  const url = kafka['url'];
  if (typeof url === 'string' && url !== '')
    for (const b of url.split(','))
      if (!/^[^:\s/]+:\d{1,5}$/.test(b.trim()))
        c.error('spec.kafka.url', `"${b.trim()}" is not host:port`);
  const topic = kafka['topic'];
  if (typeof topic === 'string' && !/^[a-zA-Z0-9._-]{1,200}$/.test(topic))
    c.error(
      'spec.kafka.topic',
      `"${topic}" is not a valid Kafka topic name (letters, digits, '.', '_', '-')`,
    );
  const sasl = kafka['sasl'];
  const mechanism = isObj(sasl) ? sasl['mechanism'] : undefined;
  if (mechanism === 'OAUTHBEARER' || mechanism === 'GSSAPI')
    c.error(
      'spec.kafka.sasl.mechanism',
      `${mechanism} is not supported by Ganglion's Kafka client; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`,
    );
}

function validateEventSource(spec: Obj, c: Collector): void {
  walk(EventSourceSpec, spec, 'spec', {
    c,
    rules: rulesOf(sourceModels, rulesFor(undefined)),
    unknownField: unknownFieldHandlers,
  });
  const seen = new Map<string, string>();
  const types: string[] = [];
  for (const type of EVENT_SOURCE_TYPES) {
    const value = spec[type];
    if (!isObj(value)) continue;
    if (Object.keys(value).length > 0) types.push(type);
    for (const eventName of Object.keys(value)) {
      const other = seen.get(eventName);
      if (other)
        c.error(
          `spec.${type}.${eventName}`,
          `event name "${eventName}" is already used by spec.${other}.${eventName}; event names must be unique across all types`,
        );
      else seen.set(eventName, type);
    }
  }
  if (types.length === 0) c.error('spec', 'at least one event source type must be configured');
  const leader = types.filter((t) => LEADER_ELECTED_SOURCE_TYPES.includes(t));
  const active = types.filter((t) => !LEADER_ELECTED_SOURCE_TYPES.includes(t));
  if (leader.length > 0 && active.length > 0)
    c.error(
      'spec',
      `cannot mix leader-elected source types (${leader.join(', ')}) with active-active types (${active.join(', ')}); split them into separate EventSources`,
    );
}

function validateSensor(spec: Obj, c: Collector): void {
  const deps = new Set<string>();
  const rawDeps = spec['dependencies'];
  if (Array.isArray(rawDeps))
    rawDeps.forEach((d, i) => {
      if (!isObj(d) || typeof d['name'] !== 'string' || d['name'] === '') return;
      if (deps.has(d['name']))
        c.error(`spec.dependencies[${i}].name`, `duplicate dependency name "${d['name']}"`);
      deps.add(d['name']);
    });
  walk(SensorSpec, spec, 'spec', {
    c,
    rules: rulesOf(triggerModels, rulesFor(deps)),
    unknownField: unknownFieldHandlers,
  });
  const triggers = spec['triggers'];
  if (!Array.isArray(triggers)) return;
  const names = new Map<string, number>();
  triggers.forEach((t, i) => {
    const name = isObj(t) && isObj(t['template']) ? t['template']['name'] : undefined;
    if (typeof name !== 'string' || name === '') return;
    const prev = names.get(name);
    if (prev !== undefined)
      c.error(
        `spec.triggers[${i}].template.name`,
        `duplicate trigger name "${name}" (also spec.triggers[${prev}])`,
      );
    else names.set(name, i);
  });
}
