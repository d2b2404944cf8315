import { p95ByRoute, routeCount, type Traffic } from './window.js';

export interface Thresholds {
  /** Fail when the 5xx share of the window's requests is above this (0.01: 1 % passes, more fails). */
  maxErrorRatio: number;
  /** Fail when a route's p95 is above this many seconds. */
  p95TargetSeconds: number;
  /** Fail when a route's p95 is above this many times the previous release's p95 on that route. */
  p95Factor: number;
  /** Below this p95 (seconds) no factor is judged: 2 ms against 7 ms is noise at the histogram's resolution. */
  p95FactorFloorSeconds: number;
  /** The error ratio is judged only over at least this many requests in the window. */
  minRequests: number;
  /** A route's p95 is judged only over at least this many of its requests in the window. */
  minRouteRequests: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  maxErrorRatio: 0.01,
  p95TargetSeconds: 2,
  p95Factor: 3,
  p95FactorFloorSeconds: 0.05,
  minRequests: 100,
  minRouteRequests: 20,
};

export interface Verdict {
  failures: string[];
  notes: string[];
  requests: number;
  serverErrors: number;
  p95: Record<string, number>;
}

const ms = (seconds: number) => `${Math.round(seconds * 1000)} ms`;
const percent = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;

/** Judges a window of the new release's traffic against the thresholds and the previous release's p95. */
export function judge(
  traffic: Traffic,
  thresholds: Thresholds,
  previousP95: Record<string, number> = {},
): Verdict {
  const failures: string[] = [];
  const notes: string[] = [];
  const { requests, serverErrors } = traffic;
  if (requests < thresholds.minRequests) {
    notes.push(
      `error rate not judged: ${requests} requests in the window, fewer than ${thresholds.minRequests}`,
    );
  } else if (serverErrors / requests > thresholds.maxErrorRatio) {
    failures.push(
      `error rate ${percent(serverErrors / requests)} (${serverErrors} of ${requests} answered 5xx) is above ${percent(thresholds.maxErrorRatio)}`,
    );
  }

  const p95 = p95ByRoute(traffic, thresholds.minRouteRequests);
  for (const [route, bounds] of traffic.buckets) {
    if (!(route in p95) && routeCount(bounds) > 0) {
      notes.push(
        `p95 of ${route} not judged: ${routeCount(bounds)} requests, fewer than ${thresholds.minRouteRequests}`,
      );
    }
  }
  for (const [route, seconds] of Object.entries(p95)) {
    if (seconds > thresholds.p95TargetSeconds) {
      failures.push(`p95 of ${route} is ${ms(seconds)}, above the target ${ms(thresholds.p95TargetSeconds)}`);
      continue;
    }
    const before = previousP95[route];
    if (before === undefined || seconds <= thresholds.p95FactorFloorSeconds) continue;
    if (seconds > before * thresholds.p95Factor) {
      failures.push(
        `p95 of ${route} is ${ms(seconds)}, ${(seconds / before).toFixed(1)} times the previous release's ${ms(before)} (limit ${thresholds.p95Factor}x)`,
      );
    }
  }
  return { failures, notes, requests, serverErrors, p95 };
}
