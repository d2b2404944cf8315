import { randomBytes, randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { type Config, loadConfig } from '../../src/config';
import { createDatabase, type Knex, usePreparedStatements } from '../../src/db/knex';
import { Lifecycle } from '../../src/health/lifecycle';
import { createLogger, type Logger } from '../../src/observability/logger';

export const testDatabaseUrl = (): string => {
  const url = process.env.SHIPSHAPE_TEST_DB_URL;
  if (!url)
    throw new Error('SHIPSHAPE_TEST_DB_URL is unset: run the tests through jest (test/support/global-setup)');
  return url;
};

/** A configuration as the testing environment builds it, with the given variables on top. */
export function testConfig(env: Record<string, string> = {}): Config {
  // Behind PgBouncer in transaction mode the run turns named statements off, as the app's deployment would.
  const prepared = process.env.DATABASE_PREPARED_STATEMENTS;
  return loadConfig({
    APP_ENV: 'testing',
    DATABASE_URL: testDatabaseUrl(),
    ...(prepared ? { DATABASE_PREPARED_STATEMENTS: prepared } : {}),
    ...env,
  });
}

export interface TestApp {
  app: Express;
  db: Knex;
  config: Config;
  lifecycle: Lifecycle;
}

/** The real app on the run's database; the caller closes db. */
export function buildTestApp(env: Record<string, string> = {}, logger?: Logger): TestApp {
  const config = testConfig(env);
  const db = createDatabase({ url: config.database.url!, poolMin: 0, poolMax: 4 });
  const lifecycle = new Lifecycle();
  lifecycle.markStarted();
  const app = createApp({
    config,
    db,
    lifecycle,
    logger: logger ?? createLogger({ level: 'silent', pretty: false }),
  });
  return { app, db, config, lifecycle };
}

/** buildTestApp for a whole test file (call it at the top level): the pool closes after the file's tests. */
export function useTestApp(env: Record<string, string> = {}, logger?: Logger): TestApp {
  const built = buildTestApp(env, logger);
  // As the worker does: named statements on PostgreSQL (TEST_DATABASE_URL), never on the embedded PGlite.
  beforeAll(async () => {
    if (built.config.database.preparedStatements) await usePreparedStatements(built.db);
  });
  afterAll(() => built.db.destroy());
  return built;
}

export const uniqueEmail = () => `user-${randomUUID()}@example.test`;
export const newPassword = () => randomBytes(18).toString('base64url');

export interface Account {
  email: string;
  password: string;
  token: string;
  userId: string;
  cookies: string[];
  csrfToken: string;
}

/** Registers and logs in a fresh user through the API, as a client would. */
export async function signUp(app: Express): Promise<Account> {
  const email = uniqueEmail();
  const password = newPassword();
  const registered = await request(app).post('/api/v1/auth/register').send({ email, password }).expect(201);
  const login = await request(app).post('/api/v1/auth/login').send({ email, password }).expect(200);
  const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
  return {
    email,
    password,
    token: login.body.token,
    userId: registered.body.user.id,
    cookies: cookies.map((c) => c.split(';')[0]!),
    csrfToken: login.body.csrfToken,
  };
}

export const bearer = (account: Pick<Account, 'token'>) => ({ Authorization: `Bearer ${account.token}` });

/** Asserts an RFC 9457 body without internals and returns it. */
export function expectProblem(response: request.Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  expect(response.body.type).toEqual(expect.any(String));
  expect(response.body.requestId).toBe(response.headers['x-request-id']);
  const text = JSON.stringify(response.body);
  expect(text).not.toMatch(/\bat .+\.(ts|js):\d+|select |insert |knex|express|postgres|pglite/i);
  return response.body;
}
