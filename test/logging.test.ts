import express from 'express';
import request from 'supertest';
import { createDatabase } from '../src/db/knex';
import { isHealthPath } from '../src/health/paths';
import { errorHandler } from '../src/http/error-handler';
import { requestId } from '../src/http/request-id';
import { createLogger } from '../src/observability/logger';
import { scrubEvent } from '../src/observability/sentry';
import { newPassword, testDatabaseUrl, uniqueEmail, useTestApp } from './support/harness';
import { logCapture } from './support/log-capture';

const logs = logCapture();
const { lines, sink } = logs;

const logger = createLogger({ level: 'info', pretty: false, destination: sink });
const { app } = useTestApp({}, logger);
const verbose = useTestApp({}, createLogger({ level: 'debug', pretty: false, destination: sink }));

beforeEach(() => {
  logs.clear();
});

test('OBS-1: when a request completes, then one JSON access line carries its id, route, status and duration', async () => {
  const response = await request(app).get('/api/v1/notes').set('X-Request-Id', 'trace-me-123456');
  const access = lines.find((line) => line.requestId === 'trace-me-123456');
  expect(access).toMatchObject({
    level: 'info',
    service: 'shipshape',
    req: { method: 'GET', url: '/api/v1/notes', remoteAddress: expect.stringMatching(/127\.0\.0\.1|::1/) },
    res: { statusCode: response.status },
    responseTime: expect.any(Number),
  });
  // No headers: they carry cookies and tokens (OBS-2).
  expect(Object.keys(access!.req as object)).toEqual(['method', 'url', 'remoteAddress']);
});

test('when credentials pass through login and an authenticated call, then no password, token or cookie is logged (OBS-2)', async () => {
  const email = uniqueEmail();
  const password = newPassword();
  await request(app).post('/api/v1/auth/register').send({ email, password }).expect(201);
  const login = await request(app).post('/api/v1/auth/login').send({ email, password }).expect(200);
  const cookie = (login.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
  await request(app).get('/api/v1/users/me').set('Authorization', `Bearer ${login.body.token}`).expect(200);
  await request(app).get('/api/v1/users/me').set('Cookie', cookie).expect(200);
  expect(lines.length).toBeGreaterThanOrEqual(4);
  for (const secret of [password, login.body.token, login.body.csrfToken, cookie.split('=')[1]!]) {
    expect(logs.raw).not.toContain(secret);
  }
});

test('when a logged object holds credentials at any depth, then they are redacted', () => {
  logger.info(
    {
      password: 'p1',
      user: { password: 'p2', token: 't1' },
      req: { headers: { authorization: 'Bearer t2', cookie: 'c' } },
    },
    'probe',
  );
  const line = lines.at(-1)!;
  expect(JSON.stringify(line)).not.toMatch(/p1|p2|t1|t2|"c"/);
  expect(line).toMatchObject({
    password: '[redacted]',
    user: { password: '[redacted]', token: '[redacted]' },
  });
});

test('when credentials sit deep, in arrays, in an error or in other capitals, then they are redacted and the rest kept', () => {
  const failure = Object.assign(new Error('upstream refused'), {
    config: { headers: { Authorization: 'Bearer e1', accept: 'application/json' } },
  });
  const shared = { note: 'kept', Password: 'p3' };
  logger.error(
    {
      err: failure,
      attempts: [{ token: 't3', at: 1 }, shared],
      deep: { a: { b: { c: { passphrase: 'p4', d: 'kept' } } } },
      createdAt: new Date(0),
    },
    'probe deep',
  );
  const line = lines.at(-1)!;
  expect(JSON.stringify(line)).not.toMatch(/e1|t3|p3|p4/);
  expect(line).toMatchObject({
    err: { message: 'upstream refused', stack: expect.stringContaining('logging.test.ts') },
    attempts: [
      { token: '[redacted]', at: 1 },
      { note: 'kept', Password: '[redacted]' },
    ],
    deep: { a: { b: { c: { passphrase: '[redacted]', d: 'kept' } } } },
    createdAt: '1970-01-01T00:00:00.000Z',
  });
  expect((line.err as { config: unknown }).config).toEqual({
    headers: { Authorization: '[redacted]', accept: 'application/json' },
  });
  // The caller's own objects are left as they were: redaction works on copies.
  expect(shared.Password).toBe('p3');
});

test('when a key is a secret to Sentry (an API key, a session id, a refresh token), then the logger redacts it too (OBS-2)', () => {
  const fields = {
    apiKey: 'k1',
    'X-Api-Key': 'k2',
    sessionId: 's1',
    refreshToken: 'r1',
    clientSecret: 'c1',
    kept: 'v',
  };
  logger.info({ fields }, 'probe keys');
  const line = lines.at(-1)!;
  expect(line.fields).toEqual({
    apiKey: '[redacted]',
    'X-Api-Key': '[redacted]',
    sessionId: '[redacted]',
    refreshToken: '[redacted]',
    clientSecret: '[redacted]',
    kept: 'v',
  });
  // One definition: what a Sentry event would carry of the same object is exactly what the log line says.
  expect(scrubEvent({ extra: { fields } }).extra).toEqual({ fields: line.fields });
});

test('when a load balancer probes health, then the line is debug, so info-level logs stay quiet (OBS-3)', async () => {
  await request(app).get('/health/live').set('X-Request-Id', 'probe-at-info-1').expect(200);
  expect(lines.find((line) => line.requestId === 'probe-at-info-1')).toBeUndefined();
  await request(verbose.app).get('/health/live').set('X-Request-Id', 'probe-at-debug-1').expect(200);
  expect(lines.find((line) => line.requestId === 'probe-at-debug-1')).toMatchObject({ level: 'debug' });
});

test('when a handler fails unexpectedly, then the error line carries the request id and the stack', async () => {
  const broken = express();
  broken.use(requestId());
  broken.get('/boom', () => {
    throw new Error('kaboom');
  });
  broken.use(errorHandler({ logger, debug: false }));
  await request(broken).get('/boom').set('X-Request-Id', 'failing-request-1').expect(500);
  const line = lines.find((l) => l.requestId === 'failing-request-1' && l.msg === 'unexpected error');
  expect(line).toMatchObject({
    level: 'error',
    err: { message: 'kaboom', stack: expect.stringContaining('logging.test.ts') },
  });
});

test('when a probe URL has a trailing slash or a query, then it is still a probe, for the log and the tracer alike (OBS-3)', async () => {
  for (const [i, url] of ['/readyz/', '/health/live?from=lb', '/api/health'].entries()) {
    await request(app).get(url).set('X-Request-Id', `probe-variant-${i}-1`);
    expect(lines.find((line) => line.requestId === `probe-variant-${i}-1`)).toBeUndefined();
    expect(isHealthPath(url)).toBe(true);
  }
  // A path beside the probes is ordinary traffic: logged at info and traced.
  await request(app).get('/health/other').set('X-Request-Id', 'not-a-probe-1').expect(404);
  expect(lines.find((line) => line.requestId === 'not-a-probe-1')).toMatchObject({ level: 'info' });
  expect(isHealthPath('/health/other')).toBe(false);
});

describe('slow queries (DB-7)', () => {
  const db = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 1, slowQueryMs: 40, logger });
  afterAll(() => db.destroy());

  test('when a query takes longer than SLOW_QUERY_MS, then a warn line gives its SQL and duration but never its values', async () => {
    const secret = `private-${newPassword()}`;
    await db.raw('select pg_sleep(0.1), ?::text as value', [secret]);
    const slow = lines.filter((line) => line.msg === 'slow query');
    expect(slow).toEqual([
      expect.objectContaining({ level: 'warn', sql: expect.stringContaining('pg_sleep'), failed: false }),
    ]);
    expect(slow[0]!.durationMs).toBeGreaterThanOrEqual(100);
    expect(logs.raw).not.toContain(secret);
  });

  test('when queries are fast, then nothing is logged', async () => {
    await db.raw('select 1');
    expect(lines.filter((line) => line.msg === 'slow query')).toEqual([]);
  });
});
