import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Knex } from '../../src/db/knex';
import { REPO, run, runOk } from '../support/processes';
import { adminUrl, connect, databaseUrl, freshDatabase } from './support/postgres';

/**
 * Backup and restore drill (DB-4) on a real PostgreSQL 15: a populated database is dumped by deploy/backup.sh and
 * restored by deploy/restore.sh into a fresh one; every table must come back with the same rows.
 */
jest.setTimeout(120_000);

const backupDir = mkdtempSync(join(tmpdir(), 'shipshape-backup-'));
let source: Awaited<ReturnType<typeof freshDatabase>>;
let sourceDb: Knex;
const restoredName = `shipshape_restored_${process.pid}`;
let dump: string;

/** Row count and an md5 of every row's text, in a stable order, per table of the public schema. */
async function fingerprint(db: Knex): Promise<Record<string, { rows: number; md5: string }>> {
  const tables = (await db('pg_tables').where({ schemaname: 'public' }).pluck('tablename')) as string[];
  const result: Record<string, { rows: number; md5: string }> = {};
  for (const table of tables.sort()) {
    const row = (
      await db.raw(
        `select count(*)::int as rows, coalesce(md5(string_agg(t::text, E'\\n' order by t::text)), '') as md5 from ?? t`,
        [table],
      )
    ).rows[0];
    result[table] = { rows: row.rows, md5: row.md5 };
  }
  return result;
}

const backup = (env: Record<string, string> = {}) =>
  run(join(REPO, 'deploy', 'backup.sh'), [], {
    env: { ...process.env, BACKUP_DATABASE_URL: source.url, BACKUP_DIR: backupDir, ...env },
  });
const restore = (file: string, name: string) =>
  run(join(REPO, 'deploy', 'restore.sh'), [file, name], {
    env: { ...process.env, RESTORE_ADMIN_URL: adminUrl() },
  });

beforeAll(async () => {
  source = await freshDatabase('backup_src');
  sourceDb = connect(source.url);
  await sourceDb.migrate.latest();
  await sourceDb.raw(`
    insert into users (id, email, name, password_hash)
      select gen_random_uuid(), 'user' || i || '@example.test', 'Usér ' || i || ' ✓', '$argon2id$v=19$drill' || i
      from generate_series(1, 250) as i;
    insert into notes (id, user_id, title, body)
      select gen_random_uuid(), u.id, 'note ' || g, repeat('body, "quoted" and tab\t ', g % 40)
      from users u cross join generate_series(1, 12) as g;
    insert into auth_sessions (id, user_id, token_hash, expires_at)
      select gen_random_uuid(), u.id, encode(sha256(u.email::bytea), 'hex'), now() + interval '8 hours' from users u;
  `);
});

afterAll(async () => {
  await sourceDb?.destroy();
  await source?.drop();
  const admin = connect(adminUrl());
  await admin.raw(`drop database if exists ${restoredName} with (force)`);
  await admin.destroy();
});

describe('DB-4: backup and restore', () => {
  test('when backup.sh runs, then it writes a custom-format dump with a matching checksum', () => {
    const result = backup();
    expect(result.status).toBe(0);
    dump = result.stdout.trim();
    expect(basename(dump)).toMatch(/^shipshape-\d{8}T\d{6}Z\.dump$/);
    expect(readFileSync(dump).subarray(0, 5).toString()).toBe('PGDMP');
    runOk('sha256sum', ['--check', `${basename(dump)}.sha256`], { cwd: backupDir });
  });

  test('when restore.sh restores the dump into a new database, then every table has the same rows', async () => {
    const result = restore(dump, restoredName);
    expect(result.stderr).toContain('checksum ok');
    expect(result.status).toBe(0);
    const restoredDb = connect(databaseUrl(restoredName));
    try {
      const before = await fingerprint(sourceDb);
      const after = await fingerprint(restoredDb);
      expect(Object.keys(before).sort()).toEqual([
        'account_tokens',
        'auth_sessions',
        'knex_migrations',
        'knex_migrations_lock',
        'note_attachments',
        'notes',
        'users',
      ]);
      expect(after).toEqual(before);
      expect(before.notes!.rows).toBe(3000);
      // restore.sh prints its own count per table; it must agree.
      const printed = Object.fromEntries(
        result.stdout
          .trim()
          .split('\n')
          .map((line) => [line.split(' ')[0]!.replace(/^public\./, ''), Number(line.split(' ')[1])]),
      );
      expect(printed).toEqual(
        Object.fromEntries(Object.entries(before).map(([table, f]) => [table, f.rows])),
      );
      process.stdout.write(
        `\nrestore: ${Object.entries(after)
          .map(([table, f]) => `${table} ${f.rows} rows md5 ${f.md5.slice(0, 8)}`)
          .join('; ')} (identical to the source)\n`,
      );
    } finally {
      await restoredDb.destroy();
    }
  });

  test('when the target database exists, then restore.sh refuses and changes nothing', () => {
    const result = restore(dump, restoredName);
    expect(result.stderr).toContain('exists');
    expect(result.status).toBe(73);
  });

  test('when the dump was altered after its checksum, then restore.sh refuses before creating anything', async () => {
    const tampered = join(backupDir, 'tampered.dump');
    copyFileSync(dump, tampered);
    copyFileSync(`${dump}.sha256`, `${tampered}.sha256`);
    writeFileSync(
      `${tampered}.sha256`,
      readFileSync(`${dump}.sha256`, 'utf8').replace(basename(dump), basename(tampered)),
    );
    const bytes = readFileSync(tampered);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    writeFileSync(tampered, bytes);
    const result = restore(tampered, `${restoredName}_x`);
    expect(result.status).not.toBe(0);
    const admin = connect(adminUrl());
    try {
      expect(
        await admin('pg_database')
          .where({ datname: `${restoredName}_x` })
          .first(),
      ).toBeUndefined();
    } finally {
      await admin.destroy();
    }
  });

  test('when old dumps pile up, then backup.sh prunes those past retention but keeps the newest few', () => {
    const old = Date.now() / 1000 - 30 * 86_400;
    const names = [1, 2, 3, 4].map((day) => `shipshape-2000010${day}T031500Z.dump`);
    for (const [i, name] of names.entries()) {
      writeFileSync(join(backupDir, name), 'old');
      writeFileSync(join(backupDir, `${name}.sha256`), 'old');
      utimesSync(join(backupDir, name), old + i, old + i);
    }
    const result = backup({ BACKUP_KEEP_DAYS: '14', BACKUP_KEEP_MIN: '3' });
    expect(result.status).toBe(0);
    const left = readdirSync(backupDir).filter((name) => /^shipshape-.*\.dump$/.test(name));
    // The two fresh dumps (this test's and the first one) are within retention; of the old ones only the newest
    // survives, to make three.
    expect(left).toContain(basename(result.stdout.trim()));
    expect(left).toContain(basename(dump));
    expect(left).toContain(names[3]);
    expect(left).toHaveLength(3);
    expect(existsSync(join(backupDir, `${names[0]}.sha256`))).toBe(false);
  });
});
