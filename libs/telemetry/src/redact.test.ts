import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger.js';
import { redactUrls } from './redact.js';

describe('redactUrls', () => {
  const cases: [string, string, string][] = [
    [
      'userinfo',
      'POST https://user:pa55@hooks.example.com/x failed',
      'POST https://hooks.example.com/x failed',
    ],
    [
      'query',
      'GET http://h:8080/a/b?token=s3cr3t&x=1 answered 500',
      'GET http://h:8080/a/b answered 500',
    ],
    [
      'both and a fragment',
      'see amqp://u:p@mq:5672/vh?key=k#frag now',
      'see amqp://mq:5672/vh now',
    ],
    ['several, quoted', '"http://a@x/?q=1" and <https://y/p?z=2>', '"http://x/" and <https://y/p>'],
    ['no URL', 'nothing to see: a@b?c', 'nothing to see: a@b?c'],
    ['plain URL kept', 'https://example.com/path', 'https://example.com/path'],
  ];
  for (const [name, input, want] of cases) it(name, () => assert.equal(redactUrls(input), want));

  it('applies to every log line, fields and errors included', () => {
    const lines: string[] = [];
    const log = createLogger('t', { write: (l) => lines.push(l) });
    log.warn('calling https://u:pw@h/x?sig=abc', {
      url: 'http://h/y?token=t0k',
      error: new Error('connect to https://admin:hunter2@api/z failed'),
    });
    const line = lines[0]!;
    for (const secret of ['pw', 'sig=abc', 'token=t0k', 'hunter2'])
      assert.ok(!line.includes(secret), `${secret} in ${line}`);
    assert.match(line, /https:\/\/h\/x/);
  });
});
