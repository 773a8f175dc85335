/**
 * Bench helper (not a service): the HTTP part of webhook → trigger without Kafka. Each POST it
 * receives is forwarded as a POST to RELAY_TARGET with undici (as the http trigger does), and
 * answered 200 once the target answered. `npm run bench -- sensor http-floor` puts it where the
 * pipeline's services are, to measure what the two HTTP exchanges of an event cost on this
 * machine (docs/benchmarks.md). Prints `listening <port>` when ready.
 */
import { createServer } from 'node:http';
import { Agent } from 'undici';

const target = new URL(process.env['RELAY_TARGET'] ?? 'http://127.0.0.1:1/');
const dispatcher = new Agent({ connections: 32 });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    dispatcher
      .request({
        origin: target.origin,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat(chunks),
      })
      .then(async (r) => {
        await r.body.dump();
        res.writeHead(r.statusCode === 200 ? 200 : 502, { 'content-length': '0' }).end();
      })
      .catch(() => res.writeHead(502, { 'content-length': '0' }).end());
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env['RELAY_PORT'] ?? 0), '127.0.0.1', () => {
  const a = server.address();
  console.log(`listening ${typeof a === 'object' && a ? a.port : 0}`);
});
process.on('SIGTERM', () => {
  server.close();
  void dispatcher.close().finally(() => process.exit(0));
});
