import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { parseXML, extract } from '@alicloud/mns/lib/helper.js';
import type { MnsMessage } from '@alicloud/mns';
import { validateResource, type MNSEventSource } from '@ganglion/api';
import { freePort, waitFor } from '@ganglion/testing';
import type { BrokerContext } from '../kit/broker-source.js';
import { accountIdOf, isEmptyReceive, mnsEventData, mnsSource } from './mns.source.js';

/**
 * The mns source without an MNS server (none is served by the package registries): validation,
 * the mapping of MNS's documented BatchReceiveMessage response (parsed by the official client's
 * own XML helpers) to Argo's data, and an unreachable endpoint. Not verified against a server.
 */
describe('mns source (not verified against a server)', () => {
  const es = (mns: Record<string, unknown>) => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'EventSource',
    metadata: { name: 'mns-es', namespace: 'ns' },
    spec: { mns: { example: mns } },
  });
  const valid = {
    accessKey: { name: 'mns', key: 'access-key' },
    secretKey: { name: 'mns', key: 'secret-key' },
    queue: 'orders',
    endpoint: 'https://1234567890123456.mns.cn-hangzhou.aliyuncs.com',
  };
  const errors = (doc: unknown) =>
    validateResource(doc)
      .filter((i) => i.severity === 'error')
      .map((i) => `${i.path}: ${i.message}`);

  it('validation: a complete spec passes; each mistake is reported at its path', () => {
    assert.deepEqual(errors(es(valid)), []);
    assert.deepEqual(errors(es({ ...valid, accessKey: undefined, secretKey: undefined })), [
      'spec.mns.example.accessKey: is required (a Secret key selector)',
      'spec.mns.example.secretKey: is required (a Secret key selector)',
    ]);
    const badEndpoint = errors(es({ ...valid, endpoint: 'mns.cn-hangzhou.aliyuncs.com' }));
    assert.equal(badEndpoint.length, 1, badEndpoint.join('\n'));
    assert.match(
      badEndpoint[0]!,
      /^spec\.mns\.example\.endpoint: must be an http:\/\/ or https:\/\/ URL .*got "mns\.cn-hangzhou\.aliyuncs\.com"/,
    );
    assert.deepEqual(errors(es({ ...valid, waitTimeSeconds: 40 })), [
      "spec.mns.example.waitTimeSeconds: must be at most 30 (MNS's long-poll limit), got 40",
    ]);
    const missing = errors(es({ accessKey: valid.accessKey, secretKey: valid.secretKey }));
    assert.ok(
      missing.some((m) => m.startsWith('spec.mns.example.queue:')),
      missing.join('\n'),
    );
    assert.ok(
      missing.some((m) => m.startsWith('spec.mns.example.endpoint:')),
      missing.join('\n'),
    );
  });

  /** MNS's documented BatchReceiveMessage response body. */
  const documented = `<?xml version="1.0" encoding="UTF-8"?>
<Messages xmlns="http://mns.aliyuncs.com/doc/v1/">
  <Message>
    <MessageId>5F290C926D472878-2-14D9529A8FA-200000001</MessageId>
    <ReceiptHandle>1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA==</ReceiptHandle>
    <MessageBodyMD5>C5DD56A39F5F7BB8B3337C6D11B6D8C7</MessageBodyMD5>
    <MessageBody>{"order":"A-17","qty":2}</MessageBody>
    <EnqueueTime>1250700979248</EnqueueTime>
    <NextVisibleTime>1250700799348</NextVisibleTime>
    <FirstDequeueTime>1250700779318</FirstDequeueTime>
    <DequeueCount>1</DequeueCount>
    <Priority>8</Priority>
  </Message>
  <Message>
    <MessageId>5F290C926D472878-2-14D9529A8FA-200000002</MessageId>
    <ReceiptHandle>1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOQ==</ReceiptHandle>
    <MessageBodyMD5>A4B3C2D1E0F9A8B7C6D5E4F3A2B1C0D9</MessageBodyMD5>
    <MessageBody>plain &amp; text</MessageBody>
    <EnqueueTime>1250700979249</EnqueueTime>
    <NextVisibleTime>1250700799349</NextVisibleTime>
    <FirstDequeueTime>1250700779319</FirstDequeueTime>
    <DequeueCount>3</DequeueCount>
    <Priority>8</Priority>
  </Message>
</Messages>`;

  /** What the client's batchReceiveMessage returns for a response (its own parse and extract). */
  const received = async (xml: string): Promise<MnsMessage[]> => {
    const parsed = (await parseXML(xml)) as { Messages: Record<string, unknown> };
    return extract(parsed.Messages['Message']) as MnsMessage[];
  };

  it("maps MNS's XML messages to Argo's data {messageId, body}: a string, or JSON with jsonBody", async () => {
    const [json, text] = await received(documented);
    assert.deepEqual(mnsEventData(json!, false), {
      messageId: '5F290C926D472878-2-14D9529A8FA-200000001',
      body: '{"order":"A-17","qty":2}',
    });
    assert.deepEqual(mnsEventData(json!, true), {
      messageId: '5F290C926D472878-2-14D9529A8FA-200000001',
      body: { order: 'A-17', qty: 2 },
    });
    // A body that is not JSON stays a string with jsonBody; XML entities are decoded.
    assert.deepEqual(mnsEventData(text!, true), {
      messageId: '5F290C926D472878-2-14D9529A8FA-200000002',
      body: 'plain & text',
    });
    assert.equal(json!.ReceiptHandle, '1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA==');
  });

  it('recognises the empty long poll (MessageNotExist) and reads the account id of an endpoint', () => {
    const empty = Object.assign(new Error('GET … failed with 404'), {
      name: 'MNSMessageNotExistError',
    });
    assert.equal(isEmptyReceive(empty), true);
    assert.equal(
      isEmptyReceive(Object.assign(new Error('x'), { name: 'MNSQueueNotExistError' })),
      false,
    );
    assert.equal(
      accountIdOf('https://1234567890123456.mns.cn-hangzhou.aliyuncs.com'),
      '1234567890123456',
    );
  });

  it('an endpoint that refuses connections: receive failures are logged and retried, close returns', async () => {
    // A loopback port that accepts and closes every connection: each request fails at once.
    const server = createServer((s) => s.destroy());
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const warnings: string[] = [];
    const config = {
      ...valid,
      endpoint: `http://127.0.0.1:${port}`,
      waitTimeSeconds: 1,
    } as MNSEventSource;
    let delivered = 0;
    const ctx = {
      config,
      logger: {
        debug: () => undefined,
        info: () => undefined,
        error: () => undefined,
        warn: (msg: string, fields?: Record<string, unknown>) =>
          void warnings.push(`${msg} ${String((fields?.['error'] as Error | undefined)?.message)}`),
      },
      secret: async () => 'key',
      deliver: async () => void delivered++,
      fail: (err: unknown) => assert.fail(`the session failed: ${String(err)}`),
    } as unknown as BrokerContext<MNSEventSource>;
    try {
      const session = await mnsSource.connect(ctx);
      await waitFor(() => warnings.some((w) => w.startsWith('BatchReceiveMessage failed')), {
        timeoutMs: 60_000,
        what: 'a logged receive failure',
      });
      await session.close();
      assert.equal(delivered, 0);
    } finally {
      server.close();
    }
  });
});
