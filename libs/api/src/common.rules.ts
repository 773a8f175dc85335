/**
 * Pieces of semantic rules that several types share: the small predicates the per-type rules in
 * ./eventsources and ./triggers use, and the webhook endpoint rule (`WebhookContext`, also the
 * inline fields of the `webhook` source).
 */
import type { Collector, Obj, ObjectRule } from './schema-walk.js';

/** Whether a field is set in Argo's sense: present and neither empty nor an empty list. */
export const set = (v: unknown) =>
  v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);

/** Reports when both of two mutually exclusive fields are set. */
export const onlyOne = (v: Obj, a: string, b: string, path: string, c: Collector) => {
  if (set(v[a]) && set(v[b])) c.error(path, `only one of ${a} and ${b} may be set`);
};

const WEBHOOK_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

/** Argo `ValidateWebhookContext` (`webhook_context.go`), beyond the structural checks. */
export const webhookContextRule: ObjectRule = (cfg, path, { c }) => {
  const endpoint = cfg['endpoint'];
  if (typeof endpoint === 'string' && !endpoint.startsWith('/'))
    c.error(`${path}.endpoint`, `must start with "/", got "${endpoint}"`);
  const method = cfg['method'];
  if (typeof method === 'string' && !WEBHOOK_METHODS.includes(method.toUpperCase()))
    c.error(`${path}.method`, `must be one of ${WEBHOOK_METHODS.join(', ')}, got "${method}"`);
  const port = cfg['port'];
  if (typeof port === 'string' && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535))
    c.error(`${path}.port`, `must be a port number 1-65535, got "${port}"`);
  if (set(cfg['serverCertSecret']) !== set(cfg['serverKeySecret']))
    c.error(path, 'serverCertSecret and serverKeySecret must be set together');
};
