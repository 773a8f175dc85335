import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, freePort, kubeApiServer, waitFor } from '@ganglion/testing';

/**
 * services/admission as its own process, registered with a real kube-apiserver through a
 * ValidatingWebhookConfiguration (scoped to this test's namespace), exercised with kubectl.
 */
const yaml = (o: unknown): string => JSON.stringify(o);

test('kubectl apply of a broken Sensor is denied by the admission webhook with the field named', { timeout: 120_000 }, async () => {
  const kube = await kubeApiServer();
  const ns = await kube.namespace('admission');
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-admission-'));
  const cert = kube.servingCertificate();
  writeFileSync(join(dir, 'tls.crt'), cert.cert);
  writeFileSync(join(dir, 'tls.key'), cert.key);
  const port = await freePort();
  const admission = new ServiceProcess('admission', {
    healthPort: await freePort(),
    env: { GANGLION_ADMISSION_PORT: String(port), GANGLION_HOST: '127.0.0.1', GANGLION_ADMISSION_CERT: join(dir, 'tls.crt'), GANGLION_ADMISSION_KEY: join(dir, 'tls.key') },
  }).start();
  const webhookName = `${ns}.validate.ganglion.argoproj.io`;
  try {
    await admission.ready();
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
            clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(cert.ca).toString('base64') },
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            rules: [{ apiGroups: ['argoproj.io'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], resources: ['eventsources', 'sensors', 'eventbus'], scope: 'Namespaced' }],
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
        spec: { dependencies: [{ name: 'dep', eventSourceName: 'hooks', eventName: 'example' }], triggers: [{ template: { name: 'call', http: { url, method: 'POST' } } }] },
      });
    const expected = `admission webhook "${webhookName}" denied the request: Sensor "broken" is invalid: spec.triggers[0].template.http.url: "not-a-url" is not an http(s) URL`;
    // The API server picks the new configuration up asynchronously: probe with a server-side dry run.
    await waitFor(() => kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: sensor('not-a-url', 'broken') }).stderr.includes('denied the request'), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the webhook to be active',
    });

    const denied = kube.kubectl(['apply', '-f', '-'], { stdin: sensor('not-a-url', 'broken') });
    assert.notEqual(denied.status, 0);
    assert.ok(denied.stderr.includes(expected), denied.stderr);
    assert.match(kube.kubectl(['get', 'sensor', 'broken', '-n', ns]).stderr, /NotFound/);

    const ok = kube.kubectl(['apply', '-f', '-'], { stdin: sensor('http://127.0.0.1:1/x', 'good') });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /sensor.argoproj.io\/good created/);

    // EventBus update rules: whether the bus uses TLS cannot change.
    const bus = (kafka: unknown) => yaml({ apiVersion: 'argoproj.io/v1alpha1', kind: 'EventBus', metadata: { name: 'default', namespace: ns }, spec: { kafka } });
    assert.equal(kube.kubectl(['apply', '-f', '-'], { stdin: bus({ url: 'kafka:9092' }) }).status, 0);
    const update = kube.kubectl(['apply', '-f', '-'], { stdin: bus({ url: 'kafka:9092', tls: { insecureSkipVerify: true } }) });
    assert.notEqual(update.status, 0);
    assert.ok(update.stderr.includes('EventBus "default" is invalid: spec.kafka.tls: whether the bus uses TLS is immutable'), update.stderr);
    assert.equal(kube.kubectl(['apply', '-f', '-'], { stdin: bus({ url: 'kafka-2:9092' }) }).status, 0, 'other changes are allowed');
  } finally {
    kube.kubectl(['delete', 'validatingwebhookconfiguration', ns, '--ignore-not-found']);
    await admission.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
