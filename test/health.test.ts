import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../src/app';
import { createDatabase, type Knex } from '../src/db/knex';
import { Lifecycle } from '../src/health/lifecycle';
import { createLogger } from '../src/observability/logger';
import { expectProblem, testConfig, testDatabaseUrl, useTestApp } from './support/harness';
import { type IsolatedDatabase, isolatedDatabase } from './support/isolated-database';

const silent = createLogger({ level: 'silent', pretty: false });
const { app, lifecycle } = useTestApp();

describe('with the database up', () => {
  test.each(['/health', '/healthz', '/api/health'])(
    'HLT-1: when %s is probed, then 200 healthy with the database latency',
    async (path) => {
      const { body } = await request(app).get(path).expect(200);
      expect(body).toEqual({
        status: 'healthy',
        checks: { database: { status: 'up', latencyMs: expect.any(Number) } },
      });
    },
  );

  test.each(['/health/live', '/livez'])('HLT-4: when %s is probed, then 200 alive', async (path) => {
    expect((await request(app).get(path).expect(200)).body).toEqual({ status: 'alive' });
  });

  test.each(['/health/ready', '/readyz'])(
    'HLT-3: when %s is probed with every migration applied, then 200 ready',
    async (path) => {
      const { body } = await request(app).get(path).expect(200);
      expect(body).toMatchObject({
        status: 'ready',
        checks: { database: { status: 'up' }, migrations: { status: 'up', pending: [] } },
      });
    },
  );

  test.each(['/health/startup', '/startupz'])(
    'HLT-5: when %s is probed after start-up, then 200',
    async (path) => {
      await request(app).get(path).expect(200);
    },
  );
});

describe('HLT-5: lifecycle', () => {
  const starting = new Lifecycle();
  const db = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 2 });
  const startingApp = createApp({ config: testConfig(), db, logger: silent, lifecycle: starting });
  afterAll(() => db.destroy());

  test('when initialisation has not finished, then startup and readiness are 503 and liveness 200', async () => {
    await request(startingApp).get('/health/startup').expect(503);
    await request(startingApp).get('/health/ready').expect(503);
    await request(startingApp).get('/health/live').expect(200);
    starting.markStarted();
    await request(startingApp).get('/health/startup').expect(200);
    await request(startingApp).get('/health/ready').expect(200);
  });

  test('when the process is draining, then readiness turns 503 at once while liveness stays 200', async () => {
    lifecycle.markDraining();
    expect((await request(app).get('/health/ready').expect(503)).body.status).toBe('draining');
    await request(app).get('/health/live').expect(200);
  });
});

describe('HLT-3: with migrations pending', () => {
  let isolated: IsolatedDatabase;
  let db: Knex;
  let pendingApp: Express;
  beforeAll(async () => {
    isolated = await isolatedDatabase('readiness');
    db = createDatabase({ url: isolated.url, poolMin: 0, poolMax: 2 });
    pendingApp = createApp({ config: testConfig(), db, logger: silent, lifecycle: startedLifecycle() });
  });
  afterAll(async () => {
    await db.destroy();
    await isolated.drop();
  });

  test('when the database lacks migrations this build ships, then readiness is 503 and names them', async () => {
    const { body } = await request(pendingApp).get('/health/ready').expect(503);
    expect(body.checks.migrations.status).toBe('pending');
    expect(body.checks.migrations.pending).toContain('20261123000001_create_users.js');
    await db.migrate.latest();
    await request(pendingApp).get('/health/ready').expect(200);
  });
});

describe('HLT-2, HLT-3, HLT-4: with the database unreachable', () => {
  // Port 9 (discard) on loopback: nothing listens, so every connection is refused at once.
  const db = createDatabase({ url: 'postgres://nobody:nothing@127.0.0.1:9/none', poolMin: 0, poolMax: 2 });
  const down = createApp({ config: testConfig(), db, logger: silent, lifecycle: startedLifecycle() });
  afterAll(() => db.destroy());

  test('when health is probed, then 503 unhealthy with the database down', async () => {
    const { body } = await request(down).get('/health').expect(503);
    expect(body).toMatchObject({ status: 'unhealthy', checks: { database: { status: 'down' } } });
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|nobody/);
  });

  test('when readiness is probed, then 503; liveness stays 200 so nothing restarts the app', async () => {
    await request(down).get('/health/ready').expect(503);
    await request(down).get('/health/live').expect(200);
  });

  test('when an API call needs the database, then 503 problem+json with Retry-After, not 500', async () => {
    const response = await request(down)
      .get('/api/v1/notes')
      .set('Authorization', `Bearer ss_${'a'.repeat(43)}`);
    expectProblem(response, 503);
    expect(response.headers['retry-after']).toBe('5');
  });
});

function startedLifecycle() {
  const lifecycle = new Lifecycle();
  lifecycle.markStarted();
  return lifecycle;
}
