import {
  API_VERSION,
  EVENT_SOURCE_TYPES,
  KINDS,
  TRIGGER_TYPES,
  type AnyResource,
  type Kind,
} from './types.js';

/** One problem found in a manifest, with the path of the field it concerns. */
export interface ValidationIssue {
  /** Field path, e.g. `spec.triggers[1].template.http.url`. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export class ValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map(formatIssue).join('; '));
    this.name = 'ValidationError';
  }
}

export function formatIssue(i: ValidationIssue): string {
  return `${i.path}: ${i.message}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Collector {
  readonly issues: ValidationIssue[] = [];
  error(path: string, message: string): void {
    this.issues.push({ path, message, severity: 'error' });
  }
  warn(path: string, message: string): void {
    this.issues.push({ path, message, severity: 'warning' });
  }
  requireString(obj: Obj, key: string, path: string): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null || v === '') {
      this.error(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.error(`${path}.${key}`, `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }
  optionalString(obj: Obj, key: string, path: string): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.error(`${path}.${key}`, `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }
  stringMap(obj: Obj, key: string, path: string): void {
    const v = obj[key];
    if (v === undefined || v === null) return;
    if (!isObj(v)) return this.error(`${path}.${key}`, `must be a map of strings, got ${typeName(v)}`);
    for (const [k, x] of Object.entries(v))
      if (typeof x !== 'string') this.error(`${path}.${key}.${k}`, `must be a string, got ${typeName(x)}`);
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const TRIGGER_HTTP_METHODS = ['GET', 'DELETE', 'PATCH', 'POST', 'PUT'];

/**
 * Validates a parsed manifest object against the argoproj.io/v1alpha1 rules that this
 * release implements. Returns every issue found (errors and warnings), each naming its field.
 */
export function validateResource(doc: unknown): ValidationIssue[] {
  const c = new Collector();
  if (!isObj(doc)) {
    c.error('(document)', `must be an object, got ${typeName(doc)}`);
    return c.issues;
  }
  if (doc['apiVersion'] !== API_VERSION)
    c.error('apiVersion', `must be ${API_VERSION}, got ${JSON.stringify(doc['apiVersion'] ?? null)}`);
  const kind = doc['kind'];
  if (!KINDS.includes(kind as Kind)) {
    c.error('kind', `must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind ?? null)}`);
    return c.issues;
  }
  const meta = doc['metadata'];
  if (!isObj(meta)) c.error('metadata', 'is required');
  else {
    const name = c.requireString(meta, 'name', 'metadata');
    if (name !== undefined && (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)))
      c.error('metadata.name', `"${name}" is not a valid name (lower-case letters, digits, '-' and '.')`);
    const ns = c.optionalString(meta, 'namespace', 'metadata');
    if (ns !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns))
      c.error('metadata.namespace', `"${ns}" is not a valid namespace`);
  }
  const spec = doc['spec'];
  if (!isObj(spec)) {
    c.error('spec', 'is required');
    return c.issues;
  }
  if (kind === 'EventBus') validateEventBus(spec, c);
  else if (kind === 'EventSource') validateEventSource(spec, c);
  else validateSensor(spec, c);
  return c.issues;
}

/** Throws a {@link ValidationError} when the manifest has errors; returns it typed otherwise. */
export function assertValidResource(doc: unknown): AnyResource {
  const errors = validateResource(doc).filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new ValidationError(errors);
  return doc as AnyResource;
}

function validateEventBus(spec: Obj, c: Collector): void {
  const kinds = ['nats', 'jetstream', 'jetstreamExotic', 'kafka'].filter((k) => spec[k] !== undefined);
  if (kinds.length !== 1) {
    c.error('spec', `exactly one of kafka, nats, jetstream or jetstreamExotic must be set, got ${kinds.length ? kinds.join(', ') : 'none'}`);
  }
  for (const k of ['nats', 'jetstream', 'jetstreamExotic'])
    if (spec[k] !== undefined)
      c.error(
        `spec.${k}`,
        `Ganglion runs on Kafka only; replace spec.${k} with spec.kafka, e.g. "spec: {kafka: {topic: <namespace>-<name>}}" ` +
          '(url defaults to the installation\'s brokers)',
      );
  const kafka = spec['kafka'];
  if (kafka === undefined) return;
  if (!isObj(kafka)) return c.error('spec.kafka', `must be an object, got ${typeName(kafka)}`);
  const url = c.optionalString(kafka, 'url', 'spec.kafka');
  if (url !== undefined)
    for (const b of url.split(','))
      if (!/^[^:\s]+:\d{1,5}$/.test(b.trim())) c.error('spec.kafka.url', `"${b.trim()}" is not host:port`);
  const topic = c.optionalString(kafka, 'topic', 'spec.kafka');
  if (topic !== undefined && !/^[a-zA-Z0-9._-]{1,200}$/.test(topic))
    c.error('spec.kafka.topic', `"${topic}" is not a valid Kafka topic name (letters, digits, '.', '_', '-')`);
  const partitioner = kafka['partitioner'];
  if (partitioner !== undefined && !['random', 'hash', 'roundrobin', 'manual'].includes(partitioner as string))
    c.error('spec.kafka.partitioner', `must be one of random, hash, roundrobin, manual, got ${JSON.stringify(partitioner)}`);
}

function validateEventSource(spec: Obj, c: Collector): void {
  c.optionalString(spec, 'eventBusName', 'spec');
  const common = new Set(['eventBusName', 'template', 'service', 'replicas']);
  const seen = new Map<string, string>();
  let types = 0;
  for (const [type, value] of Object.entries(spec)) {
    if (common.has(type)) continue;
    if (!(EVENT_SOURCE_TYPES as readonly string[]).includes(type)) {
      c.error(`spec.${type}`, `unknown event source type (known: ${EVENT_SOURCE_TYPES.join(', ')})`);
      continue;
    }
    types++;
    if (!isObj(value)) {
      c.error(`spec.${type}`, `must be a map of event name to ${type} configuration, got ${typeName(value)}`);
      continue;
    }
    for (const [eventName, cfg] of Object.entries(value)) {
      const path = `spec.${type}.${eventName}`;
      const other = seen.get(eventName);
      if (other) c.error(path, `event name "${eventName}" is already used by spec.${other}.${eventName}; event names must be unique across all types`);
      seen.set(eventName, type);
      if (!isObj(cfg)) {
        c.error(path, `must be an object, got ${typeName(cfg)}`);
        continue;
      }
      if (type === 'webhook') validateWebhookContext(cfg, path, c);
    }
  }
  if (types === 0) c.error('spec', 'at least one event source type must be configured');
}

function validateSecretSelector(obj: Obj, key: string, path: string, c: Collector): void {
  const v = obj[key];
  if (v === undefined || v === null) return;
  if (!isObj(v)) return c.error(`${path}.${key}`, 'must be a secret key selector {name, key}');
  c.requireString(v, 'name', `${path}.${key}`);
  c.requireString(v, 'key', `${path}.${key}`);
}

/** Argo `WebhookContext` rules (`pkg/apis/events/v1alpha1/webhook_context.go` ValidateWebhookContext). */
export function validateWebhookContext(cfg: Obj, path: string, c = new Collector()): ValidationIssue[] {
  const endpoint = c.requireString(cfg, 'endpoint', path);
  if (endpoint !== undefined && !endpoint.startsWith('/')) c.error(`${path}.endpoint`, `must start with "/", got "${endpoint}"`);
  const method = c.requireString(cfg, 'method', path);
  if (method !== undefined && !HTTP_METHODS.includes(method.toUpperCase()))
    c.error(`${path}.method`, `must be one of ${HTTP_METHODS.join(', ')}, got "${method}"`);
  const port = cfg['port'];
  if (port === undefined || port === null || port === '') c.error(`${path}.port`, 'is required');
  else {
    const n = typeof port === 'number' ? port : typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 65535) c.error(`${path}.port`, `must be a port number 1-65535, got ${JSON.stringify(port)}`);
  }
  c.optionalString(cfg, 'url', path);
  c.stringMap(cfg, 'metadata', path);
  validateSecretSelector(cfg, 'authSecret', path, c);
  validateSecretSelector(cfg, 'serverCertSecret', path, c);
  validateSecretSelector(cfg, 'serverKeySecret', path, c);
  if ((cfg['serverCertSecret'] === undefined) !== (cfg['serverKeySecret'] === undefined))
    c.error(path, 'serverCertSecret and serverKeySecret must be set together');
  const max = cfg['maxPayloadSize'];
  if (max !== undefined && max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max <= 0))
    c.error(`${path}.maxPayloadSize`, `must be a positive integer number of bytes, got ${JSON.stringify(max)}`);
  return c.issues;
}

function validateSensor(spec: Obj, c: Collector): void {
  c.optionalString(spec, 'eventBusName', 'spec');
  const deps = spec['dependencies'];
  const depNames = new Set<string>();
  if (!Array.isArray(deps) || deps.length === 0) c.error('spec.dependencies', 'at least one dependency is required');
  else
    deps.forEach((d, i) => {
      const path = `spec.dependencies[${i}]`;
      if (!isObj(d)) return c.error(path, `must be an object, got ${typeName(d)}`);
      const name = c.requireString(d, 'name', path);
      if (name !== undefined) {
        if (depNames.has(name)) c.error(`${path}.name`, `duplicate dependency name "${name}"`);
        depNames.add(name);
      }
      c.requireString(d, 'eventSourceName', path);
      c.requireString(d, 'eventName', path);
      const op = d['filtersLogicalOperator'];
      if (op !== undefined && op !== 'and' && op !== 'or' && op !== '')
        c.error(`${path}.filtersLogicalOperator`, `must be "and" or "or", got ${JSON.stringify(op)}`);
    });
  const triggers = spec['triggers'];
  if (!Array.isArray(triggers) || triggers.length === 0) return c.error('spec.triggers', 'at least one trigger is required');
  const triggerNames = new Set<string>();
  triggers.forEach((t, i) => validateTrigger(t, `spec.triggers[${i}]`, depNames, triggerNames, c));
}

function validateTrigger(t: unknown, path: string, deps: Set<string>, names: Set<string>, c: Collector): void {
  if (!isObj(t)) return c.error(path, `must be an object, got ${typeName(t)}`);
  const template = t['template'];
  if (!isObj(template)) return c.error(`${path}.template`, 'is required');
  const tpath = `${path}.template`;
  const name = c.requireString(template, 'name', tpath);
  if (name !== undefined) {
    if (names.has(name)) c.error(`${tpath}.name`, `duplicate trigger name "${name}"`);
    names.add(name);
  }
  const types = Object.keys(template).filter((k) => (TRIGGER_TYPES as readonly string[]).includes(k));
  const unknown = Object.keys(template).filter(
    (k) => !(TRIGGER_TYPES as readonly string[]).includes(k) && !['name', 'conditions', 'conditionsReset'].includes(k),
  );
  for (const k of unknown) c.error(`${tpath}.${k}`, `unknown trigger type (known: ${TRIGGER_TYPES.join(', ')})`);
  if (types.length !== 1)
    c.error(tpath, `exactly one trigger type must be set, got ${types.length ? types.join(', ') : 'none'}`);
  validateParameters(t['parameters'], `${path}.parameters`, deps, c);
  const http = template['http'];
  if (http !== undefined) {
    const hpath = `${tpath}.http`;
    if (!isObj(http)) c.error(hpath, `must be an object, got ${typeName(http)}`);
    else {
      const url = c.requireString(http, 'url', hpath);
      if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) c.error(`${hpath}.url`, `"${url}" is not an http(s) URL`);
      const method = c.optionalString(http, 'method', hpath);
      if (method !== undefined && method !== '' && !TRIGGER_HTTP_METHODS.includes(method.toUpperCase()))
        c.error(`${hpath}.method`, `must be one of ${TRIGGER_HTTP_METHODS.join(', ')}, got "${method}"`);
      c.stringMap(http, 'headers', hpath);
      const timeout = http['timeout'];
      if (timeout !== undefined && (typeof timeout !== 'number' || timeout <= 0))
        c.error(`${hpath}.timeout`, `must be a positive number of seconds, got ${JSON.stringify(timeout)}`);
      validateParameters(http['payload'], `${hpath}.payload`, deps, c);
      validateParameters(http['parameters'], `${hpath}.parameters`, deps, c);
    }
  }
  const log = template['log'];
  if (log !== undefined && log !== null) {
    if (!isObj(log)) c.error(`${tpath}.log`, `must be an object, got ${typeName(log)}`);
    else {
      const iv = log['intervalSeconds'];
      if (iv !== undefined && (typeof iv !== 'number' || !Number.isInteger(iv) || iv < 0))
        c.error(`${tpath}.log.intervalSeconds`, `must be a non-negative integer, got ${JSON.stringify(iv)}`);
    }
  }
}

function validateParameters(list: unknown, path: string, deps: Set<string>, c: Collector): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) return c.error(path, `must be a list, got ${typeName(list)}`);
  list.forEach((p, i) => {
    const ppath = `${path}[${i}]`;
    if (!isObj(p)) return c.error(ppath, `must be an object, got ${typeName(p)}`);
    const src = p['src'];
    if (!isObj(src)) c.error(`${ppath}.src`, 'is required');
    else {
      const dep = c.requireString(src, 'dependencyName', `${ppath}.src`);
      if (dep !== undefined && deps.size > 0 && !deps.has(dep))
        c.error(`${ppath}.src.dependencyName`, `"${dep}" is not a dependency of this sensor (have: ${[...deps].join(', ')})`);
    }
    if (typeof p['dest'] !== 'string') c.error(`${ppath}.dest`, 'is required');
    const op = p['operation'];
    if (op !== undefined && !['overwrite', 'append', 'prepend', ''].includes(op as string))
      c.error(`${ppath}.operation`, `must be overwrite, append or prepend, got ${JSON.stringify(op)}`);
  });
}
