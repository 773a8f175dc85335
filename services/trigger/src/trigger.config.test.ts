import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTriggerConfig } from './trigger.config.js';

describe('trigger service configuration', () => {
  it('reads the Kubernetes and Argo Server settings of the k8s and argoWorkflow triggers', () => {
    const c = parseTriggerConfig({
      GANGLION_KUBECONFIG: '/etc/kube/config',
      GANGLION_ARGO_SERVER_URL: 'https://argo-server.argo:2746',
      GANGLION_ARGO_SERVER_TOKEN: 't',
      GANGLION_ARGO_SERVER_INSECURE: 'true',
    });
    assert.equal(c.kubeconfig, '/etc/kube/config');
    assert.equal(c.argoServerUrl, 'https://argo-server.argo:2746');
    assert.equal(c.argoServerToken, 't');
    assert.equal(c.argoServerInsecure, true);
    const d = parseTriggerConfig({});
    assert.equal(d.kubeconfig, undefined);
    assert.equal(d.argoServerUrl, undefined);
    assert.equal(d.argoServerInsecure, false);
  });

  it('rejects a malformed Argo Server URL or flag, naming the variable', () => {
    assert.throws(
      () => parseTriggerConfig({ GANGLION_ARGO_SERVER_URL: 'not a url' }),
      /GANGLION_ARGO_SERVER_URL must be a URL/,
    );
    assert.throws(
      () => parseTriggerConfig({ GANGLION_ARGO_SERVER_INSECURE: 'yes' }),
      /GANGLION_ARGO_SERVER_INSECURE must be true or false/,
    );
  });
});
