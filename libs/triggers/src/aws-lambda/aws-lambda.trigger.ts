import type { AWSLambdaTrigger } from '@ganglion/api';
import { InvokeCommand, LambdaClient, type InvocationType } from '@aws-sdk/client-lambda';
import { ClientCache } from '../common/client.cache.js';
import {
  applyTypeParameters,
  failure,
  payloadBytes,
  TemplateError,
} from '../common/params.helper.js';
import { resolveSecret } from '../common/secrets.helper.js';
import { judgeStatus } from '../common/status.policy.js';
import type { TriggerPlugin } from '../trigger.js';

export interface AwsLambdaTriggerOptions {
  /** Lambda API endpoint override (e.g. a local emulator); AWS's regional endpoint by default. */
  endpoint?: string;
}

/**
 * Argo's `awsLambda` trigger through the AWS SDK (v3): `functionName`, `region`, `accessKey` /
 * `secretKey` from Secrets (the SDK's default credential chain when absent), `payload`,
 * `invocationType` (RequestResponse, Event, DryRun). The response `StatusCode` is judged like an
 * HTTP status (`policy.status.allow`), and a function error (`FunctionError`) is a failure. The
 * action id is sent in the client context (`custom.idempotencyKey`). `roleARN` is reported as
 * unsupported in this build.
 */
export function createAwsLambdaTrigger(
  options: AwsLambdaTriggerOptions = {},
): TriggerPlugin<AWSLambdaTrigger> {
  const clients = new ClientCache<LambdaClient>((c) => c.destroy());
  return {
    type: 'awsLambda',
    async execute(template, trigger, events, ctx) {
      const what = `invoke lambda ${template.functionName}`;
      try {
        const t = applyTypeParameters(template, events);
        if (t.roleARN)
          throw new TemplateError(
            'roleARN (assume role) is not supported in this build; give accessKey/secretKey',
          );
        const credentials =
          t.accessKey && t.secretKey
            ? {
                accessKeyId: await resolveSecret(ctx, t.accessKey),
                secretAccessKey: await resolveSecret(ctx, t.secretKey),
              }
            : undefined;
        const settings = { region: t.region, endpoint: options.endpoint, credentials };
        const client = await clients.get(
          settings,
          async () =>
            new LambdaClient({
              region: t.region,
              ...(options.endpoint ? { endpoint: options.endpoint } : {}),
              ...(credentials ? { credentials } : {}),
              maxAttempts: 1,
            }),
        );
        const out = await client.send(
          new InvokeCommand({
            FunctionName: t.functionName,
            InvocationType: (t.invocationType ?? 'RequestResponse') as InvocationType,
            Payload: payloadBytes(t.payload, events),
            ClientContext: Buffer.from(
              JSON.stringify({ custom: { idempotencyKey: ctx.actionId } }),
            ).toString('base64'),
          }),
          ctx.signal ? { abortSignal: ctx.signal } : {},
        );
        if (out.FunctionError) {
          const text = out.Payload ? Buffer.from(out.Payload).toString('utf8').slice(0, 500) : '';
          return {
            ok: false,
            error: `${what}: function error ${out.FunctionError}${text ? `: ${text}` : ''}`,
            retryable: true,
          };
        }
        return judgeStatus(out.StatusCode ?? 0, trigger.policy, what);
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode;
        if (status !== undefined && !(err instanceof TemplateError)) {
          const judged = judgeStatus(status, trigger.policy, what);
          return judged.ok
            ? judged
            : {
                ...judged,
                error: `${judged.error}: ${(err as Error).name}: ${(err as Error).message}`,
              };
        }
        return failure(err, what);
      }
    },
    close: () => clients.close(),
  };
}
