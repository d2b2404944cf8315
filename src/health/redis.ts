import type { DependencyCheck } from '../db/health.js';

/** The Redis connection as the probe sees it. */
export interface RedisProbeTarget {
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
}

/** A PING within the deadline; a disconnected client is "down" at once, without waiting. */
export async function checkRedis(redis: RedisProbeTarget, deadlineMs = 1_000): Promise<DependencyCheck> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (!redis.isReady) return { status: 'down', latencyMs: 0, error: 'not connected' };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    await Promise.race([redis.sendCommand(['PING']), deadline]);
    return { status: 'up', latencyMs: elapsed() };
  } catch (error) {
    const reason = error instanceof Error && /no answer/.test(error.message) ? error.message : 'unreachable';
    return { status: 'down', latencyMs: elapsed(), error: reason };
  } finally {
    clearTimeout(timer);
  }
}
