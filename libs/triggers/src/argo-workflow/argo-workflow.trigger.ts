import type { ArgoWorkflowTrigger } from '@ganglion/api';
import { HttpClient } from '../common/http.client.js';
import {
  applyObjectParameters,
  createOnce,
  describeObject,
  fetchSource,
  kubeFailure,
  waitForLabels,
  type KubeAccess,
} from '../common/kube.objects.js';
import { isKubeError, KubeApiError, type KubeObject, type KubeRest } from '@ganglion/k8s';
import { TemplateError } from '../common/params.helper.js';
import type { TriggerContext, TriggerPlugin, TriggerResult } from '../trigger.js';

const GV = 'argoproj.io/v1alpha1';

/** Argo Server HTTP API (needed for `retry` and `resubmit --memoized`). */
export interface ArgoServerOptions {
  /** Base URL, e.g. https://argo-server.argo:2746 (`GANGLION_ARGO_SERVER_URL`). */
  url: string;
  /** Bearer token (`GANGLION_ARGO_SERVER_TOKEN`). */
  token?: string;
  /** Verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
}

/** Labels Argo drops when resubmitting (`FormulateResubmitWorkflow`). */
const RESUBMIT_DROPPED_LABELS = new Set([
  'workflows.argoproj.io/creator',
  'workflows.argoproj.io/creator-email',
  'workflows.argoproj.io/creator-preferred-username',
  'workflows.argoproj.io/phase',
  'workflows.argoproj.io/completed',
  'workflows.argoproj.io/workflow-archiving-status',
]);

interface Args {
  parameters: { name: string; value: string }[];
  memoized: boolean;
  restartSuccessful: boolean;
  nodeFieldSelector?: string;
}

/** The `argo` CLI arguments Ganglion understands (`args[]`); anything else is a template error. */
export function parseArgs(args: string[] | undefined): Args {
  const out: Args = { parameters: [], memoized: false, restartSuccessful: false };
  const list = [...(args ?? [])];
  while (list.length) {
    const a = list.shift()!;
    const [flag, inline] =
      a.includes('=') && a.startsWith('--')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const value = (): string => {
      const v = inline ?? list.shift();
      if (v === undefined) throw new TemplateError(`args: ${flag} needs a value`);
      return v;
    };
    if (flag === '-p' || flag === '--parameter') {
      const v = value();
      const i = v.indexOf('=');
      if (i <= 0) throw new TemplateError(`args: ${flag} expects name=value, got "${v}"`);
      out.parameters.push({ name: v.slice(0, i), value: v.slice(i + 1) });
    } else if (flag === '--memoized') out.memoized = inline !== 'false';
    else if (flag === '--restart-successful') out.restartSuccessful = inline !== 'false';
    else if (flag === '--node-field-selector') out.nodeFieldSelector = value();
    else
      throw new TemplateError(
        `args: "${a}" is not supported (supported: -p/--parameter, --memoized, --restart-successful, --node-field-selector)`,
      );
  }
  return out;
}

/** `-p name=value` overrides `spec.arguments.parameters` as `argo submit` does. */
function overrideParameters(wf: KubeObject, params: Args['parameters']): void {
  if (params.length === 0) return;
  const spec = (wf.spec ??= {}) as {
    arguments?: { parameters?: { name: string; value?: string }[] };
  };
  const list = ((spec.arguments ??= {}).parameters ??= []);
  for (const p of params) {
    const existing = list.find((x) => x.name === p.name);
    if (existing) existing.value = p.value;
    else list.push({ name: p.name, value: p.value });
  }
}

type WorkflowStatus = {
  phase?: string;
  nodes?: Record<string, { type?: string; phase?: string; message?: string; finishedAt?: string }>;
};

function completed(wf: KubeObject): boolean {
  const phase = (wf.status as WorkflowStatus | undefined)?.phase;
  return (
    wf.metadata?.labels?.['workflows.argoproj.io/completed'] === 'true' ||
    phase === 'Succeeded' ||
    phase === 'Failed' ||
    phase === 'Error'
  );
}

/** Read, change, write with the read resourceVersion; retried on a conflict (Argo `retry.DefaultRetry`). */
async function updateWorkflow(
  kube: KubeRest,
  ns: string,
  name: string,
  change: (wf: KubeObject) => boolean,
  signal?: AbortSignal,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const wf = await kube.get(GV, 'Workflow', ns, name, signal);
    if (!change(wf)) return false;
    try {
      await kube.request(
        'PUT',
        await kube.path(GV, 'Workflow', ns, name),
        wf,
        'application/json',
        signal,
      );
      return true;
    } catch (err) {
      if (!isKubeError(err, 409) || attempt >= 4) throw err;
    }
  }
}

/** `common.NewWorkflowFromWorkflowTemplate` / `ConvertCronWorkflowToWorkflow` of Argo Workflows. */
async function workflowFrom(
  kube: KubeRest,
  source: KubeObject,
  ns: string,
  signal?: AbortSignal,
): Promise<KubeObject> {
  const name = source.metadata?.name;
  if (!name)
    throw new TemplateError(
      'submit-from needs metadata.name of the WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow',
    );
  const kind = source.kind ?? '';
  const notFound = (err: unknown): never => {
    if (isKubeError(err, 404))
      throw new KubeApiError(
        404,
        'NotFound',
        `${kind} ${name} does not exist: ${(err as Error).message}`,
      );
    throw err;
  };
  if (kind === 'WorkflowTemplate' || kind === 'ClusterWorkflowTemplate') {
    const cluster = kind === 'ClusterWorkflowTemplate';
    await kube.get(GV, kind, cluster ? undefined : ns, name, signal).catch(notFound);
    return {
      apiVersion: GV,
      kind: 'Workflow',
      metadata: {
        generateName: `${name}-`,
        namespace: ns,
        labels: {
          [cluster
            ? 'workflows.argoproj.io/cluster-workflow-template'
            : 'workflows.argoproj.io/workflow-template']: name,
        },
        annotations: {},
      },
      spec: { workflowTemplateRef: { name, ...(cluster ? { clusterScope: true } : {}) } },
    };
  }
  if (kind === 'CronWorkflow') {
    const cron = await kube.get(GV, 'CronWorkflow', ns, name, signal).catch(notFound);
    const spec = (cron.spec ?? {}) as {
      workflowSpec?: unknown;
      workflowMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    };
    const labels: Record<string, string> = {
      ...(spec.workflowMetadata?.labels ?? {}),
      'workflows.argoproj.io/cron-workflow': name,
    };
    const instance = cron.metadata?.labels?.['workflows.argoproj.io/controller-instanceid'];
    if (instance) labels['workflows.argoproj.io/controller-instanceid'] = instance;
    return {
      apiVersion: GV,
      kind: 'Workflow',
      metadata: {
        generateName: `${name}-`,
        namespace: ns,
        labels,
        annotations: { ...(spec.workflowMetadata?.annotations ?? {}) },
        ownerReferences: [
          {
            apiVersion: GV,
            kind: 'CronWorkflow',
            name,
            uid: cron.metadata?.['uid'],
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(spec.workflowSpec ?? {}),
    };
  }
  throw new TemplateError(
    `submit-from: kind ${kind || '(none)'} is not a WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow`,
  );
}

/** `util.FormulateResubmitWorkflow` (not memoized): a new Workflow with the old one's spec, labels and annotations. */
function resubmitted(wf: KubeObject): KubeObject {
  const meta = wf.metadata ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.labels ?? {}))
    if (!RESUBMIT_DROPPED_LABELS.has(k) && !k.startsWith('events.argoproj.io/')) labels[k] = v;
  labels['workflows.argoproj.io/resubmitted-from-workflow'] = meta.name ?? '';
  const spec = structuredClone((wf.spec ?? {}) as Record<string, unknown>);
  if (spec['activeDeadlineSeconds'] === 0) delete spec['activeDeadlineSeconds'];
  delete spec['shutdown'];
  const annotations = { ...(meta.annotations ?? {}) };
  for (const k of Object.keys(annotations))
    if (k.startsWith('events.ganglion.io/')) delete annotations[k];
  return {
    apiVersion: GV,
    kind: 'Workflow',
    metadata: {
      generateName: meta.generateName || `${meta.name}-`,
      namespace: meta.namespace,
      labels,
      annotations,
      ...(Array.isArray(meta['ownerReferences'])
        ? { ownerReferences: meta['ownerReferences'] }
        : {}),
    },
    spec,
  };
}

/**
 * Argo's `argoWorkflow` trigger without the `argo` CLI. submit, submit-from, resubmit (not
 * memoized), resume, suspend, terminate and stop are done on `argoproj.io/v1alpha1` objects
 * through the Kubernetes API the way the Argo Server's code does them; `retry` and
 * `resubmit --memoized`, which rewrite node statuses and delete pods, go to the Argo Server HTTP
 * API (`argoServer`) and fail with a clear message without one. The submitted Workflow carries
 * Argo's labels and a name derived from the action id (idempotent re-runs).
 */
export function createArgoWorkflowTrigger(options: {
  kube: KubeAccess;
  http?: HttpClient;
  argoServer?: ArgoServerOptions;
}): TriggerPlugin<ArgoWorkflowTrigger> {
  const http = options.http ?? new HttpClient();

  async function viaServer(
    op: 'retry' | 'resubmit',
    ns: string,
    name: string,
    body: Record<string, unknown>,
    ctx: TriggerContext,
  ): Promise<TriggerResult> {
    const server = options.argoServer;
    if (!server)
      throw new TemplateError(
        `${op === 'retry' ? 'retry' : 'resubmit --memoized'} needs the Argo Server HTTP API (set GANGLION_ARGO_SERVER_URL)`,
      );
    const res = await http.request({
      method: 'PUT',
      url: `${server.url.replace(/\/+$/, '')}/api/v1/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${op}`,
      headers: {
        'Content-Type': 'application/json',
        ...(server.token ? { Authorization: `Bearer ${server.token}` } : {}),
      },
      body: Buffer.from(JSON.stringify({ name, namespace: ns, ...body })),
      timeoutMs: 60_000,
      tls: { rejectUnauthorized: server.rejectUnauthorized ?? true },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (res.status >= 400) {
      let message = res.body.toString('utf8').slice(0, 300);
      try {
        message = (JSON.parse(message) as { message?: string }).message ?? message;
      } catch {
        // not JSON
      }
      const err = new KubeApiError(
        res.status,
        'ArgoServer',
        `Argo Server ${op} ${ns}/${name} → HTTP ${res.status}: ${message}`,
      );
      if (res.status < 500 && res.status !== 409 && res.status !== 429)
        throw new TemplateError(err.message);
      throw err;
    }
    const wf = JSON.parse(res.body.toString('utf8') || '{}') as KubeObject;
    return {
      ok: true,
      detail: `${op} ${ns}/${name} through the Argo Server → ${wf.metadata?.name ?? '?'}`,
    };
  }

  return {
    type: 'argoWorkflow',
    async execute(template, trigger, events, ctx) {
      const operation = template.operation ?? 'submit';
      let what = `argoWorkflow ${operation}`;
      try {
        const args = parseArgs(template.args);
        const kube = options.kube.client(ctx.runAs);
        const source = applyObjectParameters(
          await fetchSource(template.source, ctx, options.kube, http),
          template.parameters,
          events,
        );
        const ns = source.metadata?.namespace || ctx.namespace;
        const name = source.metadata?.name ?? '';
        if (operation === 'submit' || operation === 'submit-from') {
          let wf = source;
          if (operation === 'submit') {
            if (source.kind !== 'Workflow')
              throw new TemplateError(`submit needs a Workflow, got ${source.kind ?? 'no kind'}`);
            wf.apiVersion ??= GV;
          } else wf = await workflowFrom(kube, source, ns, ctx.signal);
          wf.metadata = { ...(wf.metadata ?? {}), namespace: ns };
          overrideParameters(wf, args.parameters);
          const { object, existed } = await createOnce(kube, wf, ctx);
          return await waitForLabels(
            kube,
            object,
            trigger.policy?.k8s,
            ctx,
            `${existed ? 'found (submitted earlier by this action)' : 'submitted'} ${describeObject(object)}`,
          );
        }
        if (!name) throw new TemplateError(`${operation} needs metadata.name of the Workflow`);
        what = `argoWorkflow ${operation} ${ns}/${name}`;
        switch (operation) {
          case 'retry':
            return await viaServer(
              'retry',
              ns,
              name,
              {
                restartSuccessful: args.restartSuccessful,
                ...(args.nodeFieldSelector ? { nodeFieldSelector: args.nodeFieldSelector } : {}),
              },
              ctx,
            );
          case 'resubmit': {
            if (args.memoized)
              return await viaServer('resubmit', ns, name, { memoized: true }, ctx);
            const next = resubmitted(await kube.get(GV, 'Workflow', ns, name, ctx.signal));
            overrideParameters(next, args.parameters);
            const { object, existed } = await createOnce(kube, next, ctx);
            return await waitForLabels(
              kube,
              object,
              trigger.policy?.k8s,
              ctx,
              `${existed ? 'found resubmission' : 'resubmitted'} ${ns}/${name} as ${describeObject(object)}`,
            );
          }
          case 'suspend':
            await updateWorkflow(
              kube,
              ns,
              name,
              (wf) => {
                if (completed(wf)) throw new TemplateError('cannot suspend a completed workflow');
                (wf.spec as Record<string, unknown>)['suspend'] = true;
                return true;
              },
              ctx.signal,
            );
            return { ok: true, detail: `suspended Workflow ${ns}/${name}` };
          case 'resume': {
            if (args.nodeFieldSelector)
              throw new TemplateError(
                'resume --node-field-selector is not supported in this build',
              );
            const now = ctx
              .now()
              .toISOString()
              .replace(/\.\d+Z$/, 'Z');
            const changed = await updateWorkflow(
              kube,
              ns,
              name,
              (wf) => {
                let updated = false;
                const spec = wf.spec as Record<string, unknown>;
                if (spec['suspend'] === true) {
                  delete spec['suspend'];
                  updated = true;
                }
                // A running Suspend node is marked Succeeded, as `util.ResumeWorkflow` does.
                for (const node of Object.values(
                  (wf.status as WorkflowStatus | undefined)?.nodes ?? {},
                )) {
                  if (node.type === 'Suspend' && node.phase === 'Running') {
                    node.phase = 'Succeeded';
                    node.message = `Resumed by: ganglion sensor ${ctx.sensorName}`;
                    node.finishedAt = now;
                    updated = true;
                  }
                }
                return updated;
              },
              ctx.signal,
            );
            return {
              ok: true,
              detail: changed
                ? `resumed Workflow ${ns}/${name}`
                : `Workflow ${ns}/${name} was not suspended`,
            };
          }
          case 'terminate':
          case 'stop': {
            const shutdown = operation === 'terminate' ? 'Terminate' : 'Stop';
            await updateWorkflow(
              kube,
              ns,
              name,
              (wf) => {
                if (completed(wf))
                  throw new TemplateError(`cannot ${operation} a completed workflow`);
                (wf.spec as Record<string, unknown>)['shutdown'] = shutdown;
                return true;
              },
              ctx.signal,
            );
            return { ok: true, detail: `set spec.shutdown=${shutdown} on Workflow ${ns}/${name}` };
          }
          default:
            throw new TemplateError(`unknown operation ${String(operation)}`);
        }
      } catch (err) {
        return kubeFailure(err, what);
      }
    },
    async close() {
      if (!options.http) http.close();
    },
  };
}
