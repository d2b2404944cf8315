import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../src/app';
import { SessionCache } from '../src/features/accounts/session-cache';
import { Lifecycle } from '../src/health/lifecycle';
import { createLogger } from '../src/observability/logger';
import { startSessionCache } from '../src/wiring/session-cache';
import { bearer, buildTestApp, signUp, testDatabaseUrl } from './support/harness';
import { listenOnLoopback } from './support/net';
import { reportFigure } from './support/report';
import { eventually, sleep } from './support/waiting';

const onPostgresServer = Boolean(process.env.TEST_DATABASE_URL);
/** Set by test/ha/behind-pgbouncer.sh: the database is reached through PgBouncer in transaction mode. */
const behindPooler = process.env.SHIPSHAPE_TEST_POOLER === 'transaction';
const NOTES = '/api/v1/notes';

if (!onPostgresServer) {
  test('when the database is the embedded PGlite, then no session cache starts, whatever SESSION_CACHE_SECONDS says', async () => {
    const { db, config } = buildTestApp({ SESSION_CACHE_SECONDS: '60' });
    try {
      expect(config.auth.sessionCacheSeconds).toBe(60);
      const cache = await startSessionCache(
        config,
        { db, url: testDatabaseUrl(), close: async () => {} },
        createLogger({ level: 'silent', pretty: false }),
      );
      expect(cache).toBeUndefined();
    } finally {
      await db.destroy();
    }
  });
}

/**
 * A TCP relay between a cache's listening connection and PostgreSQL that can hold everything back: a channel
 * that stalls without an error, as a half-dead network or a pooler that never delivers would.
 */
async function stallableRelay(
  target: URL,
): Promise<{ url: string; stall(on: boolean): void; close(): void }> {
  const sockets: Socket[] = [];
  let stalled = false;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.push(client, upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    if (stalled) for (const socket of [client, upstream]) socket.pause();
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const url = new URL(target);
  url.port = String(await listenOnLoopback(server));
  return {
    url: url.toString(),
    stall(on) {
      stalled = on;
      for (const socket of sockets) on ? socket.pause() : socket.resume();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

interface Worker {
  app: Express;
  cache: SessionCache;
  /** Session lookups this process sent to the database. */
  lookups: () => number;
  close(): Promise<void>;
}

/** One serving process as the worker builds it: its own pool and its own session cache. */
async function startProcess(listenUrl = testDatabaseUrl()): Promise<Worker> {
  const { db, config } = buildTestApp({ SESSION_CACHE_SECONDS: '60' });
  let lookups = 0;
  db.on('query', (query: { sql: string }) => {
    if (query.sql.includes('from auth_sessions s join users')) lookups++;
  });
  const cache = new SessionCache({
    url: listenUrl,
    ttlMs: 60_000,
    notify: (channel, payload) => db.raw('select pg_notify(?, ?)', [channel, payload]),
  });
  await cache.start();
  const lifecycle = new Lifecycle();
  lifecycle.markStarted();
  const logger = createLogger({ level: 'silent', pretty: false });
  const app = createApp({ config, db, lifecycle, logger, sessionCache: cache });
  return {
    app,
    cache,
    lookups: () => lookups,
    async close() {
      await cache.close();
      await db.destroy();
    },
  };
}

const trusted = (worker: Worker) => eventually(async () => expect(worker.cache.trusted()).toBe(true));

/** Requests a page until the process refuses the token; how long that took and how many got through. */
async function untilRefused(worker: Worker, token: string) {
  const started = performance.now();
  let served = 0;
  await eventually(
    async () => {
      const response = await request(worker.app).get(NOTES).set(bearer({ token }));
      if (response.status === 200) served++;
      expect(response.status).toBe(401);
    },
    { intervalMs: 1, timeoutMs: 15_000 },
  );
  return { ms: performance.now() - started, served };
}

if (behindPooler) {
  test('when the channel goes through PgBouncer in transaction mode, then the cache never trusts itself and every request reads the database', async () => {
    const worker = await startProcess();
    try {
      const account = await signUp(worker.app);
      await sleep(4_000); // more than a heartbeat's trust: time for one to come back, if it ever could
      expect(worker.cache.trusted()).toBe(false);
      const before = worker.lookups();
      for (let i = 0; i < 3; i++) await request(worker.app).get(NOTES).set(bearer(account)).expect(200);
      expect(worker.lookups() - before).toBe(3);
    } finally {
      await worker.close();
    }
  });
}

if (onPostgresServer && !behindPooler) {
  describe('the session cache (PostgreSQL)', () => {
    let a: Worker;
    let b: Worker;
    beforeAll(async () => {
      [a, b] = await Promise.all([startProcess(), startProcess()]);
      await Promise.all([trusted(a), trusted(b)]);
    });
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
    });

    test('when one token makes several requests to a process, then only the first looks its session up in the database', async () => {
      const account = await signUp(a.app);
      const before = b.lookups();
      for (let i = 0; i < 5; i++) await request(b.app).get(NOTES).set(bearer(account)).expect(200);
      expect(b.lookups() - before).toBe(1);
    });

    test('when a token is logged out through one process, then that process refuses it at once and another as soon as the notification arrives', async () => {
      const account = await signUp(a.app);
      await request(a.app).get(NOTES).set(bearer(account)).expect(200);
      await request(b.app).get(NOTES).set(bearer(account)).expect(200);

      await request(a.app).post('/api/v1/auth/logout').set(bearer(account)).expect(204);

      await request(a.app).get(NOTES).set(bearer(account)).expect(401);
      const other = await untilRefused(b, account.token);
      reportFigure(
        `[session cache] logout in one process -> refused by another: ${other.ms.toFixed(1)} ms, ${other.served} request(s) served meanwhile`,
      );
    });

    test('when a session is revoked or its user disabled straight in the database, then every process refuses the token', async () => {
      const revoked = await signUp(a.app);
      const disabled = await signUp(a.app);
      for (const account of [revoked, disabled]) {
        for (const worker of [a, b]) await request(worker.app).get(NOTES).set(bearer(account)).expect(200);
      }
      const { db } = buildTestApp();
      try {
        await db('auth_sessions').where({ user_id: revoked.userId }).update({ revoked_at: db.fn.now() });
        await db('users').where({ id: disabled.userId }).update({ disabled_at: db.fn.now() });
      } finally {
        await db.destroy();
      }
      for (const worker of [a, b]) {
        await untilRefused(worker, revoked.token);
        await untilRefused(worker, disabled.token);
      }
    });

    test('when the notification channel stalls without an error, then the cache stops trusting itself and a revocation made meanwhile is refused; when it flows again, sessions come from memory again', async () => {
      const relay = await stallableRelay(new URL(testDatabaseUrl()));
      const c = await startProcess(relay.url);
      try {
        await trusted(c);
        const account = await signUp(a.app);
        await request(c.app).get(NOTES).set(bearer(account)).expect(200);

        relay.stall(true);
        const { db } = buildTestApp();
        try {
          await db('auth_sessions').where({ user_id: account.userId }).update({ revoked_at: db.fn.now() });
        } finally {
          await db.destroy();
        }
        // The revocation's notification is held in the relay: only the missing heartbeat can stop the cache.
        const refused = await untilRefused(c, account.token);
        reportFigure(
          `[session cache] channel stalled -> cache distrusted and the revoked token refused: ${refused.ms.toFixed(0)} ms, ${refused.served} request(s) served meanwhile`,
        );
        const other = await signUp(a.app);
        const before = c.lookups();
        for (let i = 0; i < 3; i++) await request(c.app).get(NOTES).set(bearer(other)).expect(200);
        expect(c.lookups() - before).toBe(3);

        relay.stall(false);
        await trusted(c);
        await sleep(10);
        const resumed = c.lookups();
        for (let i = 0; i < 3; i++) await request(c.app).get(NOTES).set(bearer(other)).expect(200);
        expect(c.lookups() - resumed).toBe(1);
      } finally {
        await c.close();
        relay.close();
      }
    });
  });
}
