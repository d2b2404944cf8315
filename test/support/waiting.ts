/**
 * Waiting for something another process does. No timing is asserted: a deadline only stops a hang, and the
 * error says what never happened, with the last failure seen.
 */

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export interface Patience {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Try again this long after a miss (default 250 ms). */
  intervalMs?: number;
}

class TimedOut extends Error {
  constructor(
    what: string,
    readonly last: unknown,
  ) {
    super(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
  }
}

/** Polls until check() returns a value other than undefined; a check that throws counts as a miss. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 250 }: Patience = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new TimedOut(what, last);
}

/**
 * Polls until check() stops throwing (expect() inside it) and returns what it returned; at the deadline the last
 * assertion error itself is thrown, so the report shows the expectation that never held.
 */
export async function eventually<T>(check: () => Promise<T>, patience: Patience = {}): Promise<T> {
  try {
    const { value } = await waitFor('an assertion to hold', async () => ({ value: await check() }), patience);
    return value;
  } catch (error) {
    throw error instanceof TimedOut && error.last instanceof Error ? error.last : error;
  }
}
