import type { CustomTrigger } from '@ganglion/api';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { applyParameters, ParameterError } from '@ganglion/core';
import { ClientCache } from '../common/client.cache.js';
import { failure, payloadBytes, TemplateError } from '../common/params.helper.js';
import { resolveSecret } from '../common/secrets.helper.js';
import type { TriggerPlugin } from '../trigger.js';
import {
  triggerService,
  type ApplyPolicyResponse,
  type ExecuteResponse,
  type FetchResourceResponse,
} from './trigger.proto.js';

type Unary<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: { deadline: Date },
  cb: (err: ServiceError | null, res: Res) => void,
) => void;
interface TriggerClient extends Client {
  FetchResource: Unary<{ resource: Buffer }, FetchResourceResponse>;
  Execute: Unary<{ resource: Buffer; payload: Buffer }, ExecuteResponse>;
  ApplyPolicy: Unary<{ request: Buffer }, ApplyPolicyResponse>;
}

/** gRPC status codes worth retrying (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN). */
const RETRYABLE = new Set([14, 4, 8, 10, 13, 2]);

function call<Req, Res>(
  fn: Unary<Req, Res>,
  client: TriggerClient,
  req: Req,
  md: Metadata,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn.call(client, req, md, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

/** Argo marshals `spec` (a string map) with ghodss/yaml: sorted keys, one `key: value` line each. */
function specYaml(spec: Record<string, string>): string {
  return Object.keys(spec)
    .sort()
    .map((k) => `${JSON.stringify(k)}: ${JSON.stringify(spec[k])}\n`)
    .join('');
}

/**
 * Argo's `custom` trigger: a gRPC client of Argo's trigger protocol (proto/trigger.proto).
 * FetchResource(spec as YAML) → the type's `parameters` applied to the fetched resource when it
 * is JSON → Execute(resource, payload) → ApplyPolicy(response). Unlike Argo, which logs and
 * ignores ApplyPolicy's verdict, `success: false` fails the attempt. `secure` uses TLS with the
 * CA from `certSecret` and `serverNameOverride`. The action id travels as the
 * `idempotency-key` metadata. Channels are cached per server and TLS setting.
 */
export function createCustomTrigger(timeoutMs = 30_000): TriggerPlugin<CustomTrigger> {
  const clients = new ClientCache<TriggerClient>((c) => c.close());
  return {
    type: 'custom',
    async execute(t, _trigger, events, ctx) {
      const what = `custom trigger ${t.serverURL}`;
      let settings: Record<string, unknown> | undefined;
      try {
        if (!t.serverURL) throw new TemplateError('serverURL is required');
        if (t.secure && !t.certSecret)
          throw new TemplateError('secure needs certSecret (the CA certificate)');
        const ca = t.secure && t.certSecret ? await resolveSecret(ctx, t.certSecret) : undefined;
        settings = { url: t.serverURL, ca, name: t.serverNameOverride };
        const Ctor = triggerService();
        const client = await clients.get(
          settings,
          async () =>
            new Ctor(
              t.serverURL,
              ca ? credentials.createSsl(Buffer.from(ca)) : credentials.createInsecure(),
              t.serverNameOverride
                ? {
                    'grpc.ssl_target_name_override': t.serverNameOverride,
                    'grpc.default_authority': t.serverNameOverride,
                  }
                : {},
            ) as unknown as TriggerClient,
        );
        const md = new Metadata();
        md.set('idempotency-key', ctx.actionId);
        const fetched = await call(
          client.FetchResource,
          client,
          { resource: Buffer.from(specYaml(t.spec ?? {})) },
          md,
          timeoutMs,
        );
        let resource = Buffer.from(fetched.resource ?? Buffer.alloc(0));
        if (t.parameters && t.parameters.length > 0) {
          let obj: unknown;
          try {
            obj = JSON.parse(resource.toString('utf8'));
          } catch (err) {
            throw new TemplateError(
              `the fetched resource is not JSON, so parameters cannot apply: ${(err as Error).message}`,
            );
          }
          try {
            resource = Buffer.from(JSON.stringify(applyParameters(obj, t.parameters, events)));
          } catch (err) {
            if (err instanceof ParameterError) throw new TemplateError(err.message);
            throw err;
          }
        }
        const payload =
          t.payload && t.payload.length > 0 ? payloadBytes(t.payload, events) : Buffer.alloc(0);
        const executed = await call(client.Execute, client, { resource, payload }, md, timeoutMs);
        const policy = await call(
          client.ApplyPolicy,
          client,
          { request: Buffer.from(executed.response ?? Buffer.alloc(0)) },
          md,
          timeoutMs,
        );
        if (!policy.success)
          return {
            ok: false,
            error: `${what}: policy says the execution failed${policy.message ? `: ${policy.message}` : ''}`,
            retryable: true,
          };
        return { ok: true, detail: `${what}: ${policy.message || 'succeeded'}` };
      } catch (err) {
        const code = (err as ServiceError).code;
        if (typeof code === 'number' && (err as ServiceError).metadata !== undefined) {
          return {
            ok: false,
            error: `${what}: ${(err as Error).message}`,
            retryable: RETRYABLE.has(code),
          };
        }
        return failure(err, what);
      }
    },
    close: () => clients.close(),
  };
}
