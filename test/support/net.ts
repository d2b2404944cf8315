import { type AddressInfo, createServer, type Server } from 'node:net';

/** A TCP port nothing listens on right now, asked of the kernel. Never a fixed port: suites run side by side. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a server of the test's own (HTTP or TCP) on a port the kernel picks on 127.0.0.1, and returns it. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}
