import type * as RedisModule from 'redis';
import type { Logger } from '../observability/logger.js';

/** Start-up waits this long for Redis, never longer: rate limits count per process until it comes. */
const STARTUP_WAIT_MS = 3_000;

/**
 * The Redis client behind the shared rate-limit counters. Reconnects with capped backoff, for ever. Commands
 * fail at once while it is disconnected (no offline queue), so the limiter counts in process memory rather
 * than holding requests (src/http/rate-limit-store.ts); a Redis outage is never a start-up or request failure.
 */
export async function connectRedis(url: string, logger: Logger) {
  // Required here, not at the top: the client library is 5 MB of heap in every worker, and only processes
  // with REDIS_URL set use it.
  const { createClient } = require('redis') as typeof RedisModule;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000), connectTimeout: 5_000 },
  });
  let reported = false;
  // One line per outage, not one per reconnect attempt.
  client.on('error', (error: Error) => {
    if (!reported) logger.warn({ err: error }, 'redis: connection lost; reconnecting');
    reported = true;
  });
  client.on('ready', () => {
    if (reported) logger.info('redis: connected again');
    reported = false;
  });
  const connecting = client.connect();
  connecting.catch(() => {}); // retried by reconnectStrategy; never rejects on a refused connection
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    connecting,
    new Promise((resolve) => {
      timer = setTimeout(resolve, STARTUP_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!client.isReady)
    logger.warn('redis: unreachable at start-up; rate limits count per process until it answers');
  return client;
}

export type RedisConnection = Awaited<ReturnType<typeof connectRedis>>;

/** Closes politely when connected; while Redis is away a QUIT would wait for ever, so the socket is dropped. */
export async function closeRedis(client: RedisConnection, deadlineMs = 1_000): Promise<void> {
  if (!client.isReady) return void client.destroy();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  if (client.isOpen) client.destroy();
}
