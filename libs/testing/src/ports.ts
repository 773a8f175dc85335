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
