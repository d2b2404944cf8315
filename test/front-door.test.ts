import express from 'express';
import request from 'supertest';
import { createApp } from '../src/app';
import { Lifecycle } from '../src/health/lifecycle';
import { createLogger } from '../src/observability/logger';
import { createMetrics } from '../src/observability/metrics';
import { testConfig, useTestApp } from './support/harness';
import { logCapture } from './support/log-capture';

// The liveness probe is answered before Express's router (src/http/front-door.ts); a trailing slash
// takes the routed way to the same handler. Whatever a client can see must not tell the two apart.
const { lines, sink } = logCapture();
const { db } = useTestApp();
const metrics = createMetrics({ version: 'test', commit: 'test', environment: 'testing' });
const lifecycle = new Lifecycle();
lifecycle.markStarted();
const app = createApp({
  config: testConfig(),
  db,
  lifecycle,
  metrics,
  logger: createLogger({ level: 'debug', pretty: false, destination: sink }),
});

/** Headers as a client compares them: the date and the per-request id left out. */
function comparable(headers: Record<string, string>) {
  const { date, 'x-request-id': _id, ...rest } = headers;
  return rest;
}

async function requestsCounted(route: string): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'http_requests_total');
  return (
    metric?.values
      .filter((v) => v.labels.route === route && v.labels.status_code === '200')
      .reduce((sum, v) => sum + v.value, 0) ?? 0
  );
}

describe('HLT-4: liveness answered before the router', () => {
  test.each([
    ['GET', '/health/live'],
    ['HEAD', '/health/live'],
    ['GET', '/livez'],
    ['HEAD', '/livez'],
  ])(
    'when %s %s is probed, then status, body and headers are those of the routed answer',
    async (method, path) => {
      const send = (url: string) => (method === 'GET' ? request(app).get(url) : request(app).head(url));
      const first = await send(path);
      const routed = await send(`${path}/`);
      expect(first.status).toBe(200);
      expect(first.status).toBe(routed.status);
      expect(first.text).toBe(routed.text);
      expect(comparable(first.headers)).toEqual(comparable(routed.headers));
      expect(first.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(first.headers['content-security-policy']).toContain("default-src 'none'");
      if (method === 'GET') expect(first.body).toEqual({ status: 'alive' });
    },
  );

  test('when liveness is probed, then the metrics count it under its path, never as unmatched', async () => {
    const before = {
      live: await requestsCounted('/health/live'),
      livez: await requestsCounted('/livez'),
      unmatched: await requestsCounted('unmatched'),
    };
    await request(app).get('/health/live').expect(200);
    await request(app).get('/health/live').expect(200);
    await request(app).head('/livez').expect(200);
    expect(await requestsCounted('/health/live')).toBe(before.live + 2);
    expect(await requestsCounted('/livez')).toBe(before.livez + 1);
    expect(await requestsCounted('unmatched')).toBe(before.unmatched);
  });

  test('when liveness is probed with an id, then the access line quotes the id, the URL and the status at debug', async () => {
    await request(app).get('/health/live').set('X-Request-Id', 'live-first-probe-1').expect(200);
    expect(lines.find((line) => line.requestId === 'live-first-probe-1')).toMatchObject({
      level: 'debug',
      req: { method: 'GET', url: '/health/live' },
      res: { statusCode: 200 },
    });
  });

  test('when the probe path is called with another method, then the router answers it as it would any path', async () => {
    const response = await request(app).post('/health/live').send({});
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });

  test('when the app is mounted in another app, then its probes and routes answer under the mount path', async () => {
    const parent = express();
    parent.use('/svc', app);
    expect((await request(parent).get('/svc/health/live').expect(200)).body).toEqual({ status: 'alive' });
    const refused = await request(parent)
      .get('/svc/api/v1/notes')
      .set('X-Request-Id', 'mounted-notes-1')
      .expect(401);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    // What the parent's router set is kept: the access line and the metrics name the full path.
    expect(lines.find((line) => line.requestId === 'mounted-notes-1')).toMatchObject({
      req: { url: '/svc/api/v1/notes' },
      res: { statusCode: 401 },
    });
    const counted = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'http_requests_total');
    expect(
      counted?.values.some((v) => v.labels.route === '/svc/api/v1/notes' && v.labels.status_code === '401'),
    ).toBe(true);
    await request(parent).get('/health/live').expect(404);
  });
});
