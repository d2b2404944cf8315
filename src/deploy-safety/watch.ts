import { readFileSync, writeFileSync } from 'node:fs';
import { DEFAULT_THRESHOLDS, judge, type Thresholds, type Verdict } from './verdict.js';
import { addCounters, countersOf, delta, p95ByRoute, trafficOf } from './window.js';

export interface WatchOptions {
  metricsUrl: string;
  readyUrl?: string;
  prometheusUrl?: string;
  windowSeconds: number;
  /**
   * Latency counts only from this many seconds in: a release's first requests pay for cold code and new database
   * connections, which would make every release look slow. Errors count from the first second.
   */
  warmupSeconds: number;
  /** Watch on past the window, up to this long, while fewer than thresholds.minRequests arrived. */
  maxWindowSeconds: number;
  intervalSeconds: number;
  /** Consecutive failed readiness probes that count as readiness lost. */
  readyFailures: number;
  thresholds: Thresholds;
  /** The previous release's p95 by route, written by a baseline run before the switch. */
  previousFile?: string;
  /** The same file's content, where no file can be handed over (a container that is another one's successor). */
  previousJson?: string;
  /** Baseline mode: measure and write p95 by route to this file; judge nothing. */
  baselineFile?: string;
  say(line: string): void;
}

export interface Outcome extends Verdict {
  seconds: number;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return countersOf(await response.text());
}

async function ready(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status === 200 ? undefined : `answered ${response.status}`;
  } catch (error) {
    return `did not answer (${(error as Error).message})`;
  }
}

/** Names of the alerts firing now, each with its labels, as Prometheus' /api/v1/alerts lists them. */
async function firingAlerts(prometheusUrl: string): Promise<Set<string>> {
  const response = await fetch(new URL('/api/v1/alerts', prometheusUrl), {
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`Prometheus answered ${response.status}`);
  const body = (await response.json()) as {
    data: { alerts: { state: string; labels: Record<string, string> }[] };
  };
  return new Set(
    body.data.alerts
      .filter((alert) => alert.state === 'firing')
      .map(({ labels }) => `${labels.alertname}${JSON.stringify({ ...labels, alertname: undefined })}`),
  );
}

function readPrevious(file: string | undefined, json: string | undefined): Record<string, number> {
  if (!file && !json) return {};
  try {
    return (JSON.parse(json ?? readFileSync(file!, 'utf8')) as { p95: Record<string, number> }).p95;
  } catch {
    return {};
  }
}

/**
 * Watches a release for a window: at each interval it scrapes the metrics (deltas since the last scrape),
 * probes readiness and asks Prometheus for alerts, and stops at the first failure, since every further second
 * of a bad release is served to users.
 */
export async function watch(options: WatchOptions): Promise<Outcome> {
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const previous = readPrevious(options.previousFile, options.previousJson);
  const thresholds = options.baselineFile
    ? { ...options.thresholds, maxErrorRatio: Number.POSITIVE_INFINITY }
    : options.thresholds;
  const alreadyFiring = options.prometheusUrl ? await firingAlerts(options.prometheusUrl) : new Set<string>();
  let last = await scrape(options.metricsUrl);
  const window = new Map<string, number>();
  const warm = new Map<string, number>();
  const traffic = () => ({ ...trafficOf(window), buckets: trafficOf(warm).buckets });
  let notReady = 0;
  let verdict = judge(traffic(), thresholds, previous);
  // Until the window closes only what is already certain fails: errors, readiness, alerts. Latency is judged once,
  // over the whole warm window, since a few seconds of p95 on a busy host swing by more than the factor.
  let judged = verdict.failures.filter(isErrorRate);
  const finish = (failures: string[] = []): Outcome => ({
    ...verdict,
    failures: [...failures, ...judged],
    seconds: elapsed(),
  });

  const goOn = () =>
    elapsed() < options.windowSeconds ||
    (verdict.requests < thresholds.minRequests && elapsed() < options.maxWindowSeconds);
  while (goOn()) {
    const end = elapsed() < options.windowSeconds ? options.windowSeconds : options.maxWindowSeconds;
    await sleep(Math.min(options.intervalSeconds, Math.max(0, end - elapsed())) * 1000);
    let now: Map<string, number>;
    try {
      now = await scrape(options.metricsUrl);
    } catch (error) {
      return finish([`metrics unreachable: ${(error as Error).message}`]);
    }
    const change = delta(last, now);
    addCounters(window, change);
    if (elapsed() - options.intervalSeconds >= options.warmupSeconds) addCounters(warm, change);
    last = now;
    verdict = judge(traffic(), thresholds, previous);
    options.say(progress(elapsed(), verdict));
    if (options.baselineFile) continue;
    judged = verdict.failures.filter(isErrorRate);
    if (judged.length > 0) return finish();

    if (options.readyUrl) {
      const problem = await ready(options.readyUrl);
      notReady = problem ? notReady + 1 : 0;
      if (notReady >= options.readyFailures)
        return finish([`readiness lost: ${options.readyUrl} ${problem}`]);
    }
    if (options.prometheusUrl) {
      let firing: Set<string>;
      try {
        firing = await firingAlerts(options.prometheusUrl);
      } catch (error) {
        return finish([`alerts unknown: ${(error as Error).message}`]);
      }
      const fresh = [...firing].filter((alert) => !alreadyFiring.has(alert));
      if (fresh.length > 0) return finish([`alerts firing since the release: ${fresh.join(', ')}`]);
    }
  }

  if (options.baselineFile) {
    const p95 = p95ByRoute(traffic(), thresholds.minRouteRequests);
    writeFileSync(options.baselineFile, `${JSON.stringify({ p95, requests: verdict.requests })}\n`);
  }
  judged = options.baselineFile ? [] : verdict.failures;
  return finish();
}

const isErrorRate = (failure: string) => failure.startsWith('error rate');

function progress(seconds: number, verdict: Verdict): string {
  const routes = Object.entries(verdict.p95)
    .map(([route, p95]) => `${route} ${Math.round(p95 * 1000)} ms`)
    .join(', ');
  return `verify: ${seconds.toFixed(0)} s: ${verdict.requests} requests, ${verdict.serverErrors} 5xx${routes ? `; p95 ${routes}` : ''}`;
}

export { DEFAULT_THRESHOLDS };
