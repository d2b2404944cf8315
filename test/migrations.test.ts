import { uuidv7 } from '../src/db/ids';
import { createDatabase, type Knex } from '../src/db/knex';
import { shippedMigrations } from '../src/db/migrations';
import { type IsolatedDatabase, isolatedDatabase } from './support/isolated-database';

/** A database of its own, so rolling everything back cannot disturb the other suites. */
let isolated: IsolatedDatabase;
let db: Knex;
beforeAll(async () => {
  isolated = await isolatedDatabase('migrations');
  db = createDatabase({ url: isolated.url, poolMin: 0, poolMax: 1 });
});
afterAll(async () => {
  await db.destroy();
  await isolated.drop();
});

const tables = async () =>
  (
    await db('information_schema.tables')
      .where({ table_schema: 'public' })
      .whereNot('table_name', 'like', 'knex_%')
      .pluck('table_name')
  ).sort();

test('DB-6: when migrating latest, rolling back all and migrating again, then each step leaves the expected tables', async () => {
  const [, applied] = await db.migrate.latest();
  expect(applied).toEqual(shippedMigrations());
  expect(await tables()).toEqual(['account_tokens', 'auth_sessions', 'note_attachments', 'notes', 'users']);

  const [, undone] = await db.migrate.rollback(undefined, true);
  expect(undone).toHaveLength(shippedMigrations().length);
  expect(await tables()).toEqual([]);

  await db.migrate.latest();
  expect(await tables()).toEqual(['account_tokens', 'auth_sessions', 'note_attachments', 'notes', 'users']);
  const [, pending] = (await db.migrate.list()) as [unknown[], unknown[]];
  expect(pending).toEqual([]);
});

test('when each migration is undone one at a time, then every down step runs on its own', async () => {
  await db.migrate.latest();
  for (let remaining = shippedMigrations().length; remaining > 0; remaining--) {
    await db.migrate.down();
    const [done] = (await db.migrate.list()) as [unknown[], unknown[]];
    expect(done).toHaveLength(remaining - 1);
  }
  expect(await tables()).toEqual([]);
});

test('DB-7: when a query lists notes, then PostgreSQL plans it on the (user_id, id) index', async () => {
  await db.migrate.latest();
  await db.raw('set enable_seqscan = off');
  const { rows } = await db.raw(
    "explain select id from notes where user_id = '0190a000-0000-7000-8000-000000000000' order by id desc limit 21",
  );
  await db.raw('reset enable_seqscan');
  expect(rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n')).toMatch(
    /notes_user_id_id_idx/,
  );
});

test('when the email verification migration runs, then accounts that exist count as verified, later ones start unverified, and its down step removes the columns', async () => {
  const migration = '20261203100005_email_verification.js';
  const addUser = async () => {
    const id = uuidv7();
    await db('users').insert({ id, email: `${id}@example.test`, password_hash: 'not a real hash' });
    return id;
  };
  await db.migrate.latest();
  await db.migrate.down({ name: migration });
  expect(await db.schema.hasColumn('users', 'email_verified_at')).toBe(false);
  const existing = await addUser();

  await db.migrate.up({ name: migration });
  const later = await addUser();

  const verifiedAt = async (id: string) =>
    (await db('users').where({ id }).first('email_verified_at')).email_verified_at;
  expect(Date.parse(String(await verifiedAt(existing)))).toBeGreaterThan(Date.now() - 60_000);
  expect(await verifiedAt(later)).toBeNull();
  expect(await db.schema.hasColumn('account_tokens', 'new_email')).toBe(true);

  await db.migrate.down({ name: migration });
  expect(await db.schema.hasColumn('users', 'email_verified_at')).toBe(false);
  expect(await db.schema.hasColumn('account_tokens', 'new_email')).toBe(false);
  expect(await db.schema.hasColumn('account_tokens', 'session_id')).toBe(false);
  await db.migrate.latest();
});
