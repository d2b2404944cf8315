/** How many unplanned worker deaths within how long make a crash loop. */
export interface CrashPolicy {
  limit: number;
  windowMs: number;
}

/** More than five unplanned deaths within a minute is a crash loop: stop and let the supervisor see. */
export const CRASH_POLICY: CrashPolicy = { limit: 5, windowMs: 60_000 };

export type CrashVerdict =
  | { kind: 'replace'; restartInMs: number }
  | { kind: 'crash-loop'; crashes: number; windowMs: number };

/** 250 ms, 500 ms, 1 s ... capped at 10 s: a worker that dies at once does not spin the CPU. */
export const backoffMs = (recentCrashes: number): number =>
  Math.min(10_000, 250 * 2 ** Math.max(0, recentCrashes - 1));

/**
 * One more unplanned death at `now`, given the times of the earlier ones: the deaths still inside the window
 * (to keep for the next call) and what to do. Pure, so the rule is tested without processes or clocks.
 */
export function assessCrash(
  earlier: readonly number[],
  now: number,
  policy: CrashPolicy = CRASH_POLICY,
): { recent: number[]; verdict: CrashVerdict } {
  const recent = [...earlier, now].filter((at) => at >= now - policy.windowMs);
  const verdict: CrashVerdict =
    recent.length > policy.limit
      ? { kind: 'crash-loop', crashes: recent.length, windowMs: policy.windowMs }
      : { kind: 'replace', restartInMs: backoffMs(recent.length) };
  return { recent, verdict };
}
