import type * as RedisModule from 'redis';
import type { Logger } from '../observability/logger.js';

/**
 * The Redis client behind the shared rate-limit counters. Reconnects with capped backoff; while it
 * is away the limiter answers requests with errors rather than letting unlimited traffic through.
 */
export async function connectRedis(url: string, logger: Logger) {
  // Required here, not at the top: the client library is 5 MB of heap in every worker, and only processes
  // with REDIS_URL set use it.
  const { createClient } = require('redis') as typeof RedisModule;
  const client = createClient({
    url,
    socket: { reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000), connectTimeout: 5_000 },
  });
  client.on('error', (error: Error) => logger.warn({ err: error }, 'redis: connection error'));
  await client.connect();
  return client;
}

export type RedisConnection = Awaited<ReturnType<typeof connectRedis>>;
