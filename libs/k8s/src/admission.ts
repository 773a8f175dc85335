import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import {
  formatIssue,
  validateEventBusUpdate,
  validateResource,
  type ValidationIssue,
} from '@ganglion/api';
import { jsonEqual } from './conditions.js';

/**
 * A validating admission webhook for the argoproj.io kinds (Argo's `pkg/webhook`): CREATE runs
 * the same validators as the reconciler and `ganglion lint`; UPDATE re-validates when the spec
 * changed and applies the EventBus update rules. A denial's message names every failing field;
 * warnings (unknown or deprecated fields, a source type this release has no runtime for) come
 * back as admission warnings.
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
 */
export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  name?: string;
  namespace?: string;
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
}

interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

const MAX_WARNINGS = 10;

/** The decision for one request (pure). */
export function reviewAdmission(req: AdmissionRequest): AdmissionResponse {
  const allow = (warnings: ValidationIssue[] = []): AdmissionResponse => ({
    uid: req.uid,
    allowed: true,
    ...(warnings.length
      ? { warnings: warnings.slice(0, MAX_WARNINGS).map((w) => formatIssue(w).slice(0, 250)) }
      : {}),
  });
  if (
    req.kind.group !== 'argoproj.io' ||
    !['EventSource', 'Sensor', 'EventBus'].includes(req.kind.kind)
  )
    return allow();
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
  const obj = req.object ?? {};
  const old = req.oldObject ?? undefined;
  if (req.operation === 'UPDATE' && old && jsonEqual(old['spec'], obj['spec'])) return allow(); // metadata-only update
  const issues = validateResource(obj);
  if (req.operation === 'UPDATE' && old && req.kind.kind === 'EventBus')
    issues.push(...validateEventBusUpdate(old['spec'], obj['spec']));
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length === 0) {
    return allow(issues);
  }
  const name = req.name || ((obj['metadata'] as { name?: string } | undefined)?.name ?? '');
  return {
    uid: req.uid,
    allowed: false,
    status: {
      code: 400,
      reason: 'Invalid',
      message: `${req.kind.kind} "${name}" is invalid: ${errors.map(formatIssue).join('; ')}`,
    },
  };
}

export interface AdmissionServerOptions {
  cert: string | Buffer;
  key: string | Buffer;
  host: string;
  port: number;
  /** Largest request body accepted (default 3 MiB, the API server's own limit). */
  maxBodyBytes?: number;
  /** Called after each answered review with the time from the request's arrival to the response (ms), e.g. for metrics. */
  onReview?: (request: AdmissionRequest, response: AdmissionResponse, ms: number) => void;
  /** Called for each request to `/validate` that is not an AdmissionReview (answered 400). */
  onBadRequest?: () => void;
}

/** The HTTPS server the API server calls: `POST /validate` with an AdmissionReview; `GET /healthz`. */
export function createAdmissionServer(options: AdmissionServerOptions): Server {
  const max = options.maxBodyBytes ?? 3 * 1024 * 1024;
  return createServer({ cert: options.cert, key: options.key }, (req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') return void res.writeHead(200).end('ok');
    if (req.method !== 'POST' || !req.url?.startsWith('/validate'))
      return void res.writeHead(404).end();
    const start = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let review: AdmissionReview;
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
        // A request without a uid or kind cannot be answered (and would crash reviewAdmission).
        if (!review.request?.uid || typeof review.request.kind?.kind !== 'string')
          throw new Error('no request');
      } catch {
        options.onBadRequest?.();
        return void res
          .writeHead(400, { 'content-type': 'text/plain' })
          .end('expected an admission.k8s.io/v1 AdmissionReview');
      }
      const request = review.request;
      const response = reviewAdmission(request);
      const body: AdmissionReview = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response,
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      options.onReview?.(request, response, performance.now() - start);
    });
  });
}

/** The files of a serving certificate and its key (PEM), e.g. a mounted `kubernetes.io/tls` Secret. */
interface CertificateFiles {
  cert: string;
  key: string;
}

/**
 * Serves a rotated certificate without a restart: re-reads `files` every `intervalMs` and hands
 * a changed pair to the running server (`setSecureContext`); new connections get it, open ones
 * keep theirs. A pair that does not load (the kubelet swaps the files one after the other; a
 * half-written file) is retried on the next tick while the previous one stays served. Returns
 * the function that stops watching.
 */
export function reloadCertificate(
  server: Server,
  files: CertificateFiles,
  options: { intervalMs: number; onReload?: () => void; onError?: (err: Error) => void },
): () => void {
  let current: string | undefined;
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
      const digest = createHash('sha256').update(cert).update('\0').update(key).digest('hex');
      if (current === undefined) current = digest;
      else if (digest !== current) {
        server.setSecureContext({ cert, key });
        current = digest;
        options.onReload?.();
      }
    } catch (err) {
      options.onError?.(err as Error);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
