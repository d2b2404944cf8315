import request from 'supertest';
import { createDatabase, type Knex, usePreparedStatements } from '../src/db/knex';
import { findActiveSession } from '../src/features/accounts/repository';
import { listNotes } from '../src/features/notes/repository';
import { bearer, signUp, testDatabaseUrl, useTestApp } from './support/harness';

const onPostgresServer = Boolean(process.env.TEST_DATABASE_URL);

describe('timestamps', () => {
  const db = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 1 });
  afterAll(() => db.destroy());
  const read = async (literal: string) =>
    (await db.raw<{ rows: { t: unknown }[] }>(`select ?::timestamptz as t`, [literal])).rows[0]!.t;

  test('when a timestamptz is read, then it is ISO 8601 in UTC with milliseconds, as Date.toISOString prints it', async () => {
    expect(await read('2026-12-01 23:45:13.123456+00')).toBe('2026-12-01T23:45:13.123Z');
    expect(await read('2026-12-01 23:45:13.5+00')).toBe('2026-12-01T23:45:13.500Z');
    expect(await read('2026-12-01 23:45:13+00')).toBe('2026-12-01T23:45:13.000Z');
    expect(await read('2026-12-01 23:45:13.999+05:30')).toBe('2026-12-01T18:15:13.999Z');
    expect(await read('2026-12-01T23:45:13.123456Z')).toBe(
      new Date('2026-12-01T23:45:13.123Z').toISOString(),
    );
  });

  test('when a timestamptz cannot be a JavaScript date, then its text is kept rather than a wrong date', async () => {
    expect(await read('infinity')).toBe('infinity');
    expect(await read('-infinity')).toBe('-infinity');
  });

  test('when the server default time zone is not UTC, then connections still read and write timestamps in UTC', async () => {
    // The startup packet asks for Kolkata (+05:30) as the session default; createDatabase's SET wins over it.
    const url = new URL(testDatabaseUrl());
    url.searchParams.set('options', '-c TimeZone=Asia/Kolkata');
    const elsewhere = createDatabase({ url: url.toString(), poolMin: 0, poolMax: 1 });
    try {
      const { rows } = await elsewhere.raw<{ rows: { zone: string; t: string }[] }>(
        "select current_setting('TimeZone') as zone, '2026-12-01 23:45:13'::timestamptz as t",
      );
      expect(rows[0]).toEqual({ zone: 'UTC', t: '2026-12-01T23:45:13.000Z' });
    } finally {
      await elsewhere.destroy();
    }
  });
});

describe('prepared statements', () => {
  const { app } = useTestApp();
  let single: Knex;
  beforeAll(() => {
    single = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 1 });
  });
  afterAll(() => single.destroy());

  test(`when the database is ${onPostgresServer ? 'PostgreSQL' : 'the embedded PGlite'}, then the hot queries ${onPostgresServer ? 'are' : 'are not'} named prepared statements`, async () => {
    expect(await usePreparedStatements(single)).toBe(onPostgresServer);
    const account = await signUp(app);
    await request(app).get('/api/v1/notes').set(bearer(account)).expect(200);
    // Run the two hot queries on the one connection of `single`, then ask that session what it has prepared.
    await findActiveSession(single, 'no-such-token-hash');
    await listNotes(single, account.userId, { limit: 5 });
    const { rows } = await single.raw<{ rows: { name: string }[] }>(
      'select name from pg_prepared_statements where name in (?, ?) order by name',
      ['find_active_session', 'list_notes'],
    );
    expect(rows.map((row) => row.name)).toEqual(
      onPostgresServer ? ['find_active_session', 'list_notes'] : [],
    );
  });

  test('when a prepared query runs again with other values, then each run gets its own answer', async () => {
    await usePreparedStatements(single);
    const [first, second] = [await signUp(app), await signUp(app)];
    for (const account of [first, second])
      await request(app)
        .post('/api/v1/notes')
        .set(bearer(account))
        .send({ title: `of ${account.email}` });
    for (const account of [first, second, first]) {
      const rows = await listNotes(single, account.userId, { limit: 5 });
      expect(rows.map((row) => row.title)).toEqual([`of ${account.email}`]);
    }
  });
  test("when a hot query runs and when it fails, then knex's query events see both, as the query count and slow-query log need", async () => {
    await usePreparedStatements(single);
    const seen: string[] = [];
    const started = (query: { sql: string }) => seen.push(`query ${query.sql.slice(0, 10)}`);
    const answered = (_: unknown, query: { sql: string }) => seen.push(`response ${query.sql.slice(0, 10)}`);
    const failed = (error: { code?: string }) => seen.push(`error ${error.code}`);
    single.on('query', started).on('query-response', answered).on('query-error', failed);
    try {
      const account = await signUp(app);
      expect(await listNotes(single, account.userId, { limit: 5 })).toEqual([]);
      // Not a uuid: PostgreSQL refuses the value, and the error keeps its SQLSTATE for the error handler.
      await expect(listNotes(single, 'not-a-uuid', { limit: 5 })).rejects.toMatchObject({ code: '22P02' });
      // The one connection went back to the pool after the failure: the next query gets it.
      expect(await listNotes(single, account.userId, { limit: 5 })).toEqual([]);
    } finally {
      single.off('query', started).off('query-response', answered).off('query-error', failed);
    }
    expect(seen).toEqual([
      'query select id,',
      'response select id,',
      'query select id,',
      'error 22P02',
      'query select id,',
      'response select id,',
    ]);
  });
});
