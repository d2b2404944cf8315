import { DEFAULT_THRESHOLDS, judge } from '../../src/deploy-safety/verdict';
import { addCounters, countersOf, delta, quantile, trafficOf } from '../../src/deploy-safety/window';
import { createMetrics } from '../../src/observability/metrics';

/**
 * The judgement verify.sh makes, on exposition text from the app's own metrics module (prom-client), so the
 * parser reads what the app really exports.
 */
function app() {
  const metrics = createMetrics({ version: 'test', commit: 'test', environment: 'test' });
  const answer = (route: string, status: number, seconds: number, times = 1) => {
    for (let n = 0; n < times; n++) {
      const labels = { method: 'GET', route, status_code: String(status) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
    }
  };
  return { answer, scrape: async () => countersOf(await metrics.registry.metrics()) };
}

test('OPS-12: when more than 1 % of the window answered 5xx, then the verdict fails naming the error rate; 1 % passes', async () => {
  const release = app();
  release.answer('/api/v1/notes', 200, 0.01, 50);
  const before = await release.scrape();
  release.answer('/api/v1/notes', 200, 0.01, 198);
  release.answer('/api/v1/notes', 500, 0.01, 2);
  const atOnePercent = judge(trafficOf(delta(before, await release.scrape())), DEFAULT_THRESHOLDS);
  expect(atOnePercent.failures).toEqual([]);
  expect(atOnePercent.requests).toBe(200);

  release.answer('/api/v1/notes', 500, 0.01, 1);
  const above = judge(trafficOf(delta(before, await release.scrape())), DEFAULT_THRESHOLDS);
  expect(above.failures).toEqual(['error rate 1.5 % (3 of 201 answered 5xx) is above 1.0 %']);
});

test('OPS-12: when fewer requests than the minimum arrived, then neither the error rate nor the p95 is judged, and the verdict says so', async () => {
  const release = app();
  const before = await release.scrape();
  release.answer('/api/v1/notes', 500, 9, 10);
  const verdict = judge(trafficOf(delta(before, await release.scrape())), DEFAULT_THRESHOLDS);
  expect(verdict.failures).toEqual([]);
  expect(verdict.notes).toEqual([
    'error rate not judged: 10 requests in the window, fewer than 100',
    'p95 of GET /api/v1/notes not judged: 10 requests, fewer than 20',
  ]);
});

test("OPS-12: when a route is over 3 times the previous release's p95 or over the 2 s target, then the verdict fails; under the 50 ms floor no factor is judged", async () => {
  const release = app();
  const before = await release.scrape();
  release.answer('/api/v1/notes', 200, 0.2, 100);
  release.answer('/api/v1/notes/:id', 200, 0.004, 100);
  release.answer('/api/v1/users/me', 200, 3, 100);
  const previous = { 'GET /api/v1/notes': 0.04, 'GET /api/v1/notes/:id': 0.001, 'GET /api/v1/users/me': 3 };
  const verdict = judge(trafficOf(delta(before, await release.scrape())), DEFAULT_THRESHOLDS, previous);
  expect(verdict.failures).toEqual([
    "p95 of GET /api/v1/notes is 243 ms, 6.1 times the previous release's 40 ms (limit 3x)",
    'p95 of GET /api/v1/users/me is 4850 ms, above the target 2000 ms',
  ]);
});

test('when a worker is replaced during the window, then its reset counters count from zero rather than going negative', async () => {
  const old = app();
  old.answer('/api/v1/notes', 200, 0.01, 500);
  const first = await old.scrape();
  const replacement = app();
  replacement.answer('/api/v1/notes', 500, 0.01, 30);
  const window = addCounters(new Map(), delta(first, await replacement.scrape()));
  const traffic = trafficOf(window);
  expect(traffic.requests).toBe(30);
  expect(traffic.serverErrors).toBe(30);
});

test('when buckets are read, then the quantile interpolates inside its bucket as histogram_quantile does', () => {
  const bounds = new Map([
    [0.1, 50],
    [0.2, 100],
    [Number.POSITIVE_INFINITY, 100],
  ]);
  expect(quantile(0.5, bounds)).toBeCloseTo(0.1);
  expect(quantile(0.95, bounds)).toBeCloseTo(0.19);
});
