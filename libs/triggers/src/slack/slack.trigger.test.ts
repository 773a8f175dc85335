import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SlackTrigger, Trigger } from '@ganglion/api';
import { context, event, RecordingServer, secretsDir } from '../fixtures/trigger.fixtures.js';
import { createSlackTrigger } from './slack.trigger.js';

describe('slack trigger against a local server speaking chat.postMessage', () => {
  const server = new RecordingServer();
  let ts = 0;
  let plugin: ReturnType<typeof createSlackTrigger>;
  const ctx = context({ secretsDir: secretsDir({ slack: { token: 'xoxb-test' } }) });
  const events = { dep: event({ repo: 'ganglion', who: 'alice' }) };
  before(async () => {
    await server.start((call, res) => {
      const body = call.json as { channel?: string };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (body.channel === 'missing')
        return void res.end(JSON.stringify({ ok: false, error: 'channel_not_found' }));
      res.end(JSON.stringify({ ok: true, ts: `1700000000.${String(++ts).padStart(6, '0')}` }));
    });
    plugin = createSlackTrigger({ apiUrl: `${server.url}/api` });
  });
  after(async () => {
    await plugin.close?.();
    await server.stop();
  });
  const base: SlackTrigger = {
    slackToken: { name: 'slack', key: 'token' },
    channel: '#general',
    message: 'static',
  };

  it("posts with the bearer token, and honours the type's own parameters (unlike Argo)", async () => {
    const r = await plugin.execute(
      {
        ...base,
        attachments: '[{"text":"att"}]',
        sender: { username: 'bot', icon: ':robot:' },
        parameters: [
          {
            src: {
              dependencyName: 'dep',
              dataTemplate: 'push to {{ .Input.repo }} by {{ .Input.who }}',
            },
            dest: 'message',
          },
        ],
      },
      { template: { name: 's' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    const call = server.calls.at(-1)!;
    assert.equal(call.url, '/api/chat.postMessage');
    assert.equal(call.headers['authorization'], 'Bearer xoxb-test');
    assert.deepEqual(call.json, {
      channel: 'general',
      text: 'push to ganglion by alice',
      attachments: [{ text: 'att' }],
      username: 'bot',
      icon_emoji: ':robot:',
    });
  });

  it('threads messages with the same aggregation key under the first one', async () => {
    const t = {
      ...base,
      thread: { messageAggregationKey: 'deploy-1', broadcastMessageToChannel: true },
    };
    await plugin.execute(t, { template: { name: 's' } } as Trigger, events, ctx);
    const first = server.calls.at(-1)!.json as Record<string, unknown>;
    assert.equal(first['thread_ts'], undefined);
    await plugin.execute(t, { template: { name: 's' } } as Trigger, events, ctx);
    const second = server.calls.at(-1)!.json as Record<string, unknown>;
    assert.match(String(second['thread_ts']), /^1700000000\.\d+$/);
    assert.equal(second['reply_broadcast'], true);
  });

  it("Slack's ok:false is a failure with its error", async () => {
    const r = await plugin.execute(
      { ...base, channel: 'missing' },
      { template: { name: 's' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /channel_not_found/);
    assert.equal(!r.ok && r.retryable, false);
  });

  it('invalid blocks JSON is a non-retryable failure without a request', async () => {
    const before = server.calls.length;
    const r = await plugin.execute(
      { ...base, blocks: '[not json' },
      { template: { name: 's' } } as Trigger,
      events,
      ctx,
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
    assert.equal(server.calls.length, before);
  });
});
