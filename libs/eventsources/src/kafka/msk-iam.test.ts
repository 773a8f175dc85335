import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';

/**
 * `awsMskIamAuth`: the kafka source's OAUTHBEARER token comes from AWS's signer. No MSK cluster
 * can be reached from here, so this checks the token's form only (the option is marked "not
 * verified against a server"): a base64url SigV4-presigned `kafka-cluster:Connect` URL for the
 * region, signed with the credentials of the default chain (here the environment's).
 */
describe('kafka awsMskIamAuth: the OAUTHBEARER token', () => {
  it('is a presigned kafka-cluster:Connect URL for the region, from the default credential chain', async () => {
    const saved = { ...process.env };
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIDGANGLIONTEST';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'secret-for-the-test';
    delete process.env['AWS_SESSION_TOKEN'];
    delete process.env['AWS_PROFILE'];
    try {
      const { token, expiryTime } = await generateAuthToken({ region: 'eu-west-1' });
      const url = new URL(Buffer.from(token, 'base64url').toString('utf8'));
      assert.equal(url.host, 'kafka.eu-west-1.amazonaws.com');
      assert.equal(url.searchParams.get('Action'), 'kafka-cluster:Connect');
      assert.equal(url.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
      assert.match(
        url.searchParams.get('X-Amz-Credential') ?? '',
        /^AKIDGANGLIONTEST\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
      );
      assert.match(url.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
      assert.ok(expiryTime > Date.now(), 'the token expires in the future');
    } finally {
      process.env = saved;
    }
  });
});
