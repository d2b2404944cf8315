import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';

export interface MetricsSource {
  contentType: string;
  /** The exposition text: this process's registry, or the aggregate of every cluster worker. */
  collect(): Promise<string>;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * /metrics on its own listener (METRICS_HOST:METRICS_PORT, loopback by default), never on the public port,
 * so a proxy rule cannot expose it by mistake. Prometheus reaches it directly or through a tunnel.
 */
export async function startMetricsServer(
  source: MetricsSource,
  { host, port, anyPortIfBusy = false }: { host: string; port: number; anyPortIfBusy?: boolean },
  logger: Logger,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    source.collect().then(
      (body) => res.writeHead(200, { 'content-type': source.contentType }).end(body),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus' scrape interval: one connection per target
  const listen = (onPort: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(onPort, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  // Two copies of the app on one laptop is normal in development: the second moves its metrics, saying where.
  const moved = await listen(port).then(
    () => false,
    async (error: NodeJS.ErrnoException) => {
      if (!anyPortIfBusy || error.code !== 'EADDRINUSE') throw error;
      await listen(0);
      return true;
    },
  );
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/metrics`;
  if (moved) logger.warn({ url, busyPort: port }, `METRICS_PORT ${port} is busy: metrics moved to ${url}`);
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
