import { parseSamples, type Sample } from './exposition.js';

const REQUESTS = 'http_requests_total';
const BUCKETS = 'http_request_duration_seconds_bucket';
const WATCHED = new Set([REQUESTS, BUCKETS]);

/** What a release answered during a window: counts by status class and latency buckets by route. */
export interface Traffic {
  requests: number;
  serverErrors: number;
  /** "GET /api/v1/notes" -> upper bound ("+Inf" as Infinity) -> requests at or under it. */
  buckets: Map<string, Map<number, number>>;
}

type Counters = Map<string, number>;

/** A scrape reduced to counters keyed by series, so two scrapes can be subtracted. */
export function countersOf(exposition: string): Counters {
  const counters: Counters = new Map();
  for (const sample of parseSamples(exposition, WATCHED)) counters.set(seriesKey(sample), sample.value);
  return counters;
}

const seriesKey = ({ name, labels }: Sample) =>
  [name, labels.method, labels.route, labels.status_code, labels.le ?? ''].join('\u0000');

/**
 * What happened between two scrapes. A counter that went down was reset (its worker was replaced by a reload
 * or a crash): everything it shows now happened since, so its current value is the delta.
 */
export function delta(before: Counters, after: Counters): Counters {
  const change: Counters = new Map();
  for (const [key, value] of after) {
    const previous = before.get(key) ?? 0;
    change.set(key, value >= previous ? value - previous : value);
  }
  return change;
}

export function addCounters(into: Counters, more: Counters): Counters {
  for (const [key, value] of more) into.set(key, (into.get(key) ?? 0) + value);
  return into;
}

export function trafficOf(counters: Counters): Traffic {
  const traffic: Traffic = { requests: 0, serverErrors: 0, buckets: new Map() };
  for (const [key, value] of counters) {
    const [name, method, route, status = '', le] = key.split('\u0000');
    if (name === REQUESTS) {
      traffic.requests += value;
      if (status.startsWith('5')) traffic.serverErrors += value;
      continue;
    }
    const routeKey = `${method} ${route}`;
    const bounds = traffic.buckets.get(routeKey) ?? new Map<number, number>();
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    bounds.set(bound, (bounds.get(bound) ?? 0) + value);
    traffic.buckets.set(routeKey, bounds);
  }
  return traffic;
}

/** Requests one route answered in the window (its +Inf bucket). */
export function routeCount(bounds: Map<number, number>): number {
  return bounds.get(Number.POSITIVE_INFINITY) ?? 0;
}

/**
 * A quantile from cumulative histogram buckets, interpolated linearly inside its bucket as Prometheus'
 * histogram_quantile does; a quantile in the +Inf bucket reads as the highest finite bound.
 */
export function quantile(q: number, bounds: Map<number, number>): number | undefined {
  const sorted = [...bounds.entries()].sort(([a], [b]) => a - b);
  const total = routeCount(bounds);
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      if (count === lowerCount) return bound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** p95 in seconds of every route with at least `minRequests` in the window. */
export function p95ByRoute(traffic: Traffic, minRequests: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [route, bounds] of traffic.buckets) {
    if (routeCount(bounds) < minRequests) continue;
    const p95 = quantile(0.95, bounds);
    if (p95 !== undefined) result[route] = p95;
  }
  return result;
}
