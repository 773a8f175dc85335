import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request listener for test servers: reads the whole request body, then calls `handler` with it. */
export function withBody(
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  };
}
