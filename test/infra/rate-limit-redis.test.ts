import { type ChildProcess, spawn } from 'node:child_process';
import request from 'supertest';
import { createApp } from '../../src/app';
import { createDatabase } from '../../src/db/knex';
import { createLogger } from '../../src/observability/logger';
import { connectRedis, type RedisConnection } from '../../src/wiring/redis';
import { testConfig, testDatabaseUrl } from '../support/harness';
import { freePort } from '../support/net';
import { TSX_CLI } from '../support/processes';

const silent = createLogger({ level: 'silent', pretty: false });
let redisServer: ChildProcess;
let redis: RedisConnection;
let redisUrl: string;
const db = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 2 });

/** A real redis-server on a free loopback port, with no persistence, stopped after the tests. */
beforeAll(async () => {
  const port = await freePort();
  redisServer = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  redisUrl = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      redis = await connectRedis(redisUrl, silent);
      break;
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

afterAll(async () => {
  await redis?.quit();
  redisServer?.kill();
  await db.destroy();
});

/** Two apps stand for two worker processes or replicas: each has its own memory, they share Redis. */
const twoProcesses = (env: Record<string, string>) =>
  [1, 2].map(() =>
    createApp({ config: testConfig({ ...env, REDIS_URL: redisUrl }), db, logger: silent, redis }),
  );

test('SEC-2: when two processes share Redis, then the general limit is one limit across both', async () => {
  const [first, second] = twoProcesses({ RATE_LIMIT_MAX: '4' });
  const statuses = [];
  for (const app of [first, second, first, second, first, second]) {
    statuses.push((await request(app!).get('/api/v1/notes')).status);
  }
  expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  expect(await redis.keys('shipshape:rl:general:*')).not.toHaveLength(0);
});

test('when processes do not share a store, then each counts alone (why REDIS_URL matters with several workers)', async () => {
  const apps = [1, 2].map(() =>
    createApp({ config: testConfig({ RATE_LIMIT_MAX: '2' }), db, logger: silent }),
  );
  const statuses = [];
  for (const app of [apps[0], apps[1], apps[0], apps[1]])
    statuses.push((await request(app!).get('/api/v1/notes')).status);
  expect(statuses).toEqual([401, 401, 401, 401]);
});

test('when login attempts for one email are spread over two processes, then the stricter auth limit still holds', async () => {
  const [first, second] = twoProcesses({ AUTH_RATE_LIMIT_MAX: '2' });
  const body = { email: `redis-${Date.now()}@example.test`, password: 'wrong password!' };
  const statuses = [];
  for (const app of [first, second, first])
    statuses.push((await request(app!).post('/api/v1/auth/login').send(body)).status);
  expect(statuses).toEqual([401, 401, 429]);
});

test('when the service process starts with REDIS_URL, then its rate-limit counters live in Redis', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [TSX_CLI, 'src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      APP_ENV: 'testing',
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: redisUrl,
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'silent',
    },
    stdio: 'ignore',
  });
  try {
    await redis.flushAll();
    let status = 0;
    for (let attempt = 0; attempt < 100 && status === 0; attempt++) {
      status = await fetch(`http://127.0.0.1:${port}/api/v1/notes`).then(
        (response) => response.status,
        () => new Promise<number>((resolve) => setTimeout(() => resolve(0), 200)),
      );
    }
    expect(status).toBe(401);
    expect(await redis.keys('shipshape:rl:general:*')).toHaveLength(1);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});
