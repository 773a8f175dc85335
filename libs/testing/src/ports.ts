import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';

/**
 * Ports this process has handed out. A port is free only until something binds it, and the
 * kernel may give the same ephemeral port to the next ask: a test that picked a webhook port and
 * then started services (whose health and metrics ports come from here too) once found a
 * service's health server on its webhook port (404 "not found" from the wrong server).
 */
const handedOut = new Set<number>();

/** Asks the kernel for a free TCP port on the loopback interface, never one handed out before. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await kernelPort(host);
    if (!handedOut.has(port) || attempt >= 50) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Holds `port` as another process would: an HTTP server on it that answers every request 404
 * `not found` (text/plain), for tests of a port that cannot be bound. Close it to release the port.
 */
export async function holdPort(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createHttpServer((_req, res) =>
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found'),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
