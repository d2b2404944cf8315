import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Express } from 'express';
import type { Config } from './config/index.js';
import { answerClientErrors, refuseMissingHost } from './http/client-error.js';

export interface RunningServer {
  server: Server;
  url: string;
  /**
   * Stops accepting, lets in-flight requests finish up to the deadline, closes keep-alive connections as
   * they go idle, then cuts whatever is left. True if everything finished in time.
   */
  close(deadlineMs: number): Promise<boolean>;
}

/**
 * How often Node checks headersTimeout and requestTimeout. Its default (30 s) would let a 10 s headers
 * timeout stretch to 40 s; a quarter of the shortest timeout keeps the overshoot small.
 */
/**
 * A keep-alive socket idle this long while draining is closed: a busy client sends its next request within
 * milliseconds of the last response (and gets Connection: close); one quiet this long is not about to.
 */
const IDLE_GRACE_MS = 1_000;

const checkingInterval = (http: Config['http']) =>
  Math.max(250, Math.min(5_000, Math.floor(Math.min(http.headersTimeoutMs, http.requestTimeoutMs) / 4)));

/**
 * The listener with its timeouts set on purpose: headersTimeout cuts a slowloris header trickle,
 * requestTimeout a body that never ends, keepAliveTimeout outlives nginx's upstream keepalive (60 s) so nginx
 * never reuses a socket the app has just closed.
 */
export async function startServer(app: Express, http: Config['http']): Promise<RunningServer> {
  // Every connection with the time it went idle (undefined while a request is in progress), so a drain
  // can tell a socket between two requests of a busy client from one nobody is using. Kept with a wrapper
  // and one shared 'finish' listener rather than a second 'request' listener and a closure per request:
  // this runs on every request (docs/performance.md, change 5).
  const idleSince = new Map<Socket, number | undefined>();
  let draining = false;
  function markIdle(this: ServerResponse) {
    idleSince.set(this.req.socket, Date.now());
  }
  const server = createServer(
    { connectionsCheckingInterval: checkingInterval(http), requireHostHeader: false },
    (req: IncomingMessage, res: ServerResponse) => {
      if (refuseMissingHost(req, res)) return;
      idleSince.set(req.socket, undefined);
      if (draining) res.setHeader('Connection', 'close');
      res.on('finish', markIdle);
      app(req, res);
    },
  );
  server.headersTimeout = http.headersTimeoutMs;
  server.requestTimeout = Math.max(http.requestTimeoutMs, http.headersTimeoutMs);
  server.keepAliveTimeout = http.keepAliveTimeoutMs;
  answerClientErrors(server);
  server.on('connection', (socket: Socket) => {
    idleSince.set(socket, Date.now());
    socket.once('close', () => idleSince.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(http.port, http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    server,
    url: `http://${host}:${address.port}`,
    close(deadlineMs) {
      draining = true;
      return new Promise((resolve) => {
        // Node's server.close() would also cut every idle keep-alive socket at once, racing a client that is
        // sending its next request on it (a reset). net.Server's close only stops accepting; responses from
        // now on say Connection: close, and a socket idle past the grace is closed by the sweep.
        const sweep = setInterval(() => {
          const quietSince = Date.now() - IDLE_GRACE_MS;
          for (const [socket, since] of idleSince)
            if (since !== undefined && since < quietSince) socket.destroy();
        }, 100);
        const deadline = setTimeout(() => {
          clearInterval(sweep);
          server.closeAllConnections();
          resolve(false);
        }, deadlineMs);
        net.Server.prototype.close.call(server, () => {
          clearInterval(sweep);
          clearTimeout(deadline);
          resolve(true);
        });
      });
    },
  };
}
