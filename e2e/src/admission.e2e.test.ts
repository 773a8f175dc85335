import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, freePort, kubeApiServer, waitFor } from '@ganglion/testing';

/**
 * services/admission as its own process, registered with a real kube-apiserver through a
 * ValidatingWebhookConfiguration (scoped to this test's namespace), exercised with kubectl.
 */
const yaml = (o: unknown): string => JSON.stringify(o);

/** The value of one series in a Prometheus text exposition (undefined when absent). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
const reviews = (text: string, kind: string, verdict: string): number | undefined =>
  value(text, `ganglion_admission_reviews_total{kind="${kind}",verdict="${verdict}"}`);

/** POSTs a body straight to the webhook (trusting the test CA); resolves with the status code. */
function post(port: number, ca: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test(
  'kubectl apply of a broken Sensor is denied by the admission webhook with the field named',
  { timeout: 120_000 },
  async () => {
    const kube = await kubeApiServer();
    const ns = await kube.namespace('admission');
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-admission-'));
    const cert = kube.servingCertificate();
    writeFileSync(join(dir, 'tls.crt'), cert.cert);
    writeFileSync(join(dir, 'tls.key'), cert.key);
    const port = await freePort();
    const metricsPort = await freePort();
    const scrape = async (): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(res.status, 200);
      return res.text();
    };
    const admission = new ServiceProcess('admission', {
      healthPort: await freePort(),
      metricsPort,
      env: {
        GANGLION_ADMISSION_PORT: String(port),
        GANGLION_HOST: '127.0.0.1',
        GANGLION_ADMISSION_CERT: join(dir, 'tls.crt'),
        GANGLION_ADMISSION_KEY: join(dir, 'tls.key'),
      },
    }).start();
    const webhookName = `${ns}.validate.ganglion.argoproj.io`;
    try {
      await admission.ready();
      // Every review series exists from start-up, at zero.
      const initial = await scrape();
      for (const kind of ['EventSource', 'Sensor', 'EventBus', 'other'])
        for (const verdict of ['allowed', 'denied'])
          assert.equal(reviews(initial, kind, verdict), 0, `${kind} ${verdict}`);
      assert.equal(
        value(initial, 'ganglion_admission_review_duration_milliseconds_count{kind="Sensor"}'),
        0,
      );
      assert.equal(value(initial, 'ganglion_admission_bad_requests_total'), 0);
      assert.equal(
        value(
          initial,
          'ganglion_build_info{version="0.1.0",nodeversion="' +
            process.version +
            '",service="admission"}',
        ),
        1,
      );
      const register = kube.kubectl(['apply', '-f', '-'], {
        stdin: yaml({
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          metadata: { name: ns },
          webhooks: [
            {
              name: webhookName,
              admissionReviewVersions: ['v1'],
              sideEffects: 'None',
              failurePolicy: 'Fail',
              timeoutSeconds: 10,
              clientConfig: {
                url: `https://127.0.0.1:${port}/validate`,
                caBundle: Buffer.from(cert.ca).toString('base64'),
              },
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
              rules: [
                {
                  apiGroups: ['argoproj.io'],
                  apiVersions: ['v1alpha1'],
                  operations: ['CREATE', 'UPDATE'],
                  resources: ['eventsources', 'sensors', 'eventbus'],
                  scope: 'Namespaced',
                },
              ],
            },
          ],
        }),
      });
      assert.equal(register.status, 0, register.stderr);

      const sensor = (url: string, name: string) =>
        yaml({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Sensor',
          metadata: { name, namespace: ns },
          spec: {
            dependencies: [{ name: 'dep', eventSourceName: 'hooks', eventName: 'example' }],
            triggers: [{ template: { name: 'call', http: { url, method: 'POST' } } }],
          },
        });
      const expected = `admission webhook "${webhookName}" denied the request: Sensor "broken" is invalid: spec.triggers[0].template.http.url: "not-a-url" is not an http(s) URL`;
      // The API server picks the new configuration up asynchronously: probe with a server-side dry run.
      await waitFor(
        () =>
          kube
            .kubectl(['apply', '--dry-run=server', '-f', '-'], {
              stdin: sensor('not-a-url', 'broken'),
            })
            .stderr.includes('denied the request'),
        {
          timeoutMs: 30_000,
          intervalMs: 250,
          what: 'the webhook to be active',
        },
      );

      // The probes above were denied reviews too: count from here on.
      const before = await scrape();
      const deniedBefore = reviews(before, 'Sensor', 'denied')!;
      const allowedBefore = reviews(before, 'Sensor', 'allowed')!;
      const latencyBefore = value(
        before,
        'ganglion_admission_review_duration_milliseconds_count{kind="Sensor"}',
      )!;
      assert.ok(deniedBefore >= 1, 'the probes were counted as denied');

      const denied = kube.kubectl(['apply', '-f', '-'], { stdin: sensor('not-a-url', 'broken') });
      assert.notEqual(denied.status, 0);
      assert.ok(denied.stderr.includes(expected), denied.stderr);
      assert.match(kube.kubectl(['get', 'sensor', 'broken', '-n', ns]).stderr, /NotFound/);
      const afterDenied = await scrape();
      assert.equal(reviews(afterDenied, 'Sensor', 'denied'), deniedBefore + 1);
      assert.equal(reviews(afterDenied, 'Sensor', 'allowed'), allowedBefore);

      const ok = kube.kubectl(['apply', '-f', '-'], {
        stdin: sensor('http://127.0.0.1:1/x', 'good'),
      });
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /sensor.argoproj.io\/good created/);
      const afterAllowed = await scrape();
      // kubectl apply may review more than once (a create is one review): at least one more allowed, no more denied.
      assert.ok(
        reviews(afterAllowed, 'Sensor', 'allowed')! >= allowedBefore + 1,
        `allowed ${reviews(afterAllowed, 'Sensor', 'allowed')}`,
      );
      assert.equal(reviews(afterAllowed, 'Sensor', 'denied'), deniedBefore + 1);
      assert.ok(
        value(
          afterAllowed,
          'ganglion_admission_review_duration_milliseconds_count{kind="Sensor"}',
        )! >=
          latencyBefore + 2,
        'each review is timed',
      );

      // Not an AdmissionReview (no kind): answered 400 and counted, and the webhook keeps serving.
      assert.equal(
        await post(
          port,
          cert.ca,
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            request: { uid: 'x' },
          }),
        ),
        400,
      );
      assert.equal(value(await scrape(), 'ganglion_admission_bad_requests_total'), 1);
      assert.ok(admission.running, 'a malformed review does not crash the webhook');

      // EventBus update rules: whether the bus uses TLS cannot change.
      const bus = (kafka: unknown) =>
        yaml({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'EventBus',
          metadata: { name: 'default', namespace: ns },
          spec: { kafka },
        });
      assert.equal(
        kube.kubectl(['apply', '-f', '-'], { stdin: bus({ url: 'kafka:9092' }) }).status,
        0,
      );
      const update = kube.kubectl(['apply', '-f', '-'], {
        stdin: bus({ url: 'kafka:9092', tls: { insecureSkipVerify: true } }),
      });
      assert.notEqual(update.status, 0);
      assert.ok(
        update.stderr.includes(
          'EventBus "default" is invalid: spec.kafka.tls: whether the bus uses TLS is immutable',
        ),
        update.stderr,
      );
      assert.equal(
        kube.kubectl(['apply', '-f', '-'], { stdin: bus({ url: 'kafka-2:9092' }) }).status,
        0,
        'other changes are allowed',
      );
    } finally {
      kube.kubectl(['delete', 'validatingwebhookconfiguration', ns, '--ignore-not-found']);
      await admission.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
