/**
 * Argo's admission rules for updates (`pkg/webhook/validator/eventbus.go ValidateUpdate`): an
 * EventBus cannot change its implementation type, NATS native↔exotic, its NATS auth, or its
 * JetStream streamConfig. Ganglion adds the Kafka analogue of "immutable auth": the SASL
 * mechanism and whether TLS is used (changing them cuts every running client off the bus).
 * Each issue names the field.
 */
import { isObj, type Obj, type ValidationIssue } from './schema-walk.js';

const TYPES = ['kafka', 'nats', 'jetstream', 'jetstreamExotic'] as const;
const typeOf = (spec: Obj): string | undefined =>
  TYPES.find((t) => spec[t] !== undefined && spec[t] !== null);
const json = (v: unknown): string => JSON.stringify(v ?? null);
const at = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);

export function validateEventBusUpdate(oldSpec: unknown, newSpec: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!isObj(oldSpec) || !isObj(newSpec)) return issues;
  const deny = (path: string, message: string): void =>
    void issues.push({ path, message, severity: 'error' });
  const before = typeOf(oldSpec);
  const after = typeOf(newSpec);
  if (before && after && before !== after) {
    deny(
      'spec',
      `the EventBus type cannot be changed (from ${before} to ${after}); create a new EventBus instead`,
    );
    return issues;
  }
  const unchanged = (path: string[], what: string): void => {
    if (json(at(oldSpec, ...path)) !== json(at(newSpec, ...path)))
      deny(`spec.${path.join('.')}`, `${what} is immutable`);
  };
  if (before === 'nats') {
    const oldNative = at(oldSpec, 'nats', 'native') !== undefined;
    const newNative = at(newSpec, 'nats', 'native') !== undefined;
    if (oldNative !== newNative) deny('spec.nats', 'cannot change between native and exotic NATS');
    else if (oldNative) unchanged(['nats', 'native', 'auth'], 'the auth strategy');
    else unchanged(['nats', 'exotic', 'auth'], 'the auth strategy');
  }
  if (before === 'jetstream') unchanged(['jetstream', 'streamConfig'], 'streamConfig');
  if (before === 'kafka') {
    unchanged(['kafka', 'sasl', 'mechanism'], 'the SASL mechanism');
    const tls = (s: Obj): boolean => Boolean(at(s, 'kafka', 'tls'));
    if (tls(oldSpec) !== tls(newSpec))
      deny('spec.kafka.tls', 'whether the bus uses TLS is immutable');
  }
  return issues;
}
