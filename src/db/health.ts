import type { Knex } from 'knex';

export interface DependencyCheck {
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

/**
 * A round trip to the database, answered within the deadline whatever the pool is doing: a probe that hangs
 * is worse than one that says "down".
 */
export async function checkDatabase(db: Knex, deadlineMs = 2_000): Promise<DependencyCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    await Promise.race([db.raw('select 1'), deadline]);
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    const reason = error instanceof Error && /no answer/.test(error.message) ? error.message : 'unreachable';
    return { status: 'down', latencyMs: Math.round(performance.now() - started), error: reason };
  } finally {
    clearTimeout(timer);
  }
}
