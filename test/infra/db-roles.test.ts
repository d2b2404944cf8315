import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from '../../src/db/knex';
import { freePort } from '../support/net';
import { asPostgres, psqlAs } from '../support/postgres';
import { REPO, run } from '../support/processes';
import { waitFor } from '../support/waiting';
import { type AppProcess, randomSecret, startBuiltApp } from './support/app';
import { send } from './support/http';
import { connect } from './support/postgres';

/**
 * Least privilege on the database (DB-2, DB-15): deploy/create-db-roles.sh creates the owner and runtime roles on
 * a private PostgreSQL 15 cluster with password authentication, the migrate step runs as the owner, and the
 * runtime role can read and write the app's rows but not change the schema, while the built app works with it.
 */
jest.setTimeout(120_000);

const dir = mkdtempSync(join(tmpdir(), 'shipshape-roles-'));
const data = join(dir, 'data');
const postgresUid = Number(execFileSync('id', ['-u', 'postgres']).toString());
const passwords = {
  owner: randomBytes(18).toString('base64url'),
  runtime: randomBytes(18).toString('base64url'),
};
let port = 0;
let ownerUrl = '';
let runtimeUrl = '';
let runtime: Knex;
let owner: Knex;
let app: AppProcess | undefined;

const superuser = (sql: string, database = 'shipshape') => psqlAs({ host: dir, port, database }, ['-c', sql]);

/** deploy/create-db-roles.sh as provision.sh runs it: as root, over the local socket, passwords in the environment. */
const createRoles = () =>
  run(join(REPO, 'deploy', 'create-db-roles.sh'), ['shipshape'], {
    env: {
      ...process.env,
      PGHOST: dir,
      PGPORT: String(port),
      SHIPSHAPE_OWNER_PASSWORD: passwords.owner,
      SHIPSHAPE_RUNTIME_PASSWORD: passwords.runtime,
    },
  });

const migrateAsOwner = () =>
  run(process.execPath, [join(REPO, 'dist', 'cli', 'migrate.js'), 'latest'], {
    env: {
      PATH: process.env.PATH,
      APP_ENV: 'production',
      TRUST_PROXY: '1',
      SECRET_KEY: randomSecret(),
      DATABASE_URL: ownerUrl,
    },
  });

/** The SQLSTATE a statement fails with, or 'ok'. */
async function outcome(db: Knex, sql: string): Promise<string> {
  try {
    await db.raw(sql);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}
const DENIED = '42501';

beforeAll(async () => {
  chownSync(dir, postgresUid, 0);
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${randomBytes(18).toString('base64url')}\n`);
  chownSync(pwfile, postgresUid, 0);
  asPostgres('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=peer',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--no-sync',
  ]);
  port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
  superuser('create database shipshape', 'postgres');
  ownerUrl = `postgres://shipshape:${passwords.owner}@127.0.0.1:${port}/shipshape`;
  runtimeUrl = `postgres://shipshape_app:${passwords.runtime}@127.0.0.1:${port}/shipshape`;
  runtime = connect(runtimeUrl);
  owner = connect(ownerUrl);
});

afterAll(async () => {
  await app?.stop();
  await runtime?.destroy();
  try {
    asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  } catch {
    // never started
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('database roles', () => {
  test('DB-15: when create-db-roles.sh runs on a fresh database, then both roles log in with their passwords and neither is privileged', () => {
    const result = createRoles();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(passwords.owner);
    const roles = superuser(
      "select rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles where rolname like 'shipshape%' order by 1",
    );
    expect(roles.split('\n')).toEqual(['shipshape|f|f|f|f', 'shipshape_app|f|f|f|f']);
    expect(
      superuser(
        'select pg_catalog.pg_get_userbyid(datdba) from pg_database where datname = current_database()',
      ),
    ).toBe('shipshape');
  });

  test('DB-2: when the migrate step runs with the owner role, then it applies every migration', () => {
    const result = migrateAsOwner();
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/applied .*create_users/);
    expect(
      superuser("select count(*) from pg_tables where schemaname = 'public' and tableowner <> 'shipshape'"),
    ).toBe('0');
  });

  test('DB-15: when the runtime role tries to drop, alter, create or truncate a table, then each is refused with permission denied', async () => {
    expect(await outcome(runtime, 'drop table notes')).toBe(DENIED);
    expect(await outcome(runtime, 'alter table users add column is_admin boolean')).toBe(DENIED);
    expect(await outcome(runtime, 'alter table notes drop constraint notes_user_id_foreign')).toBe(DENIED);
    expect(await outcome(runtime, 'create table stolen (data text)')).toBe(DENIED);
    expect(await outcome(runtime, 'create temporary table scratch (data text)')).toBe(DENIED);
    expect(await outcome(runtime, 'truncate users cascade')).toBe(DENIED);
    expect(await outcome(runtime, 'drop schema public cascade')).toBe(DENIED);
    expect(await outcome(runtime, 'create index on notes (title)')).toBe(DENIED);
    // The tables are all still there, with their columns.
    expect(
      superuser(
        "select count(*) from information_schema.columns where table_name = 'users' and column_name = 'is_admin'",
      ),
    ).toBe('0');
    expect(
      superuser(
        "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'",
      ),
    ).toBe('account_tokens,auth_sessions,knex_migrations,knex_migrations_lock,note_attachments,notes,users');
  });

  test("DB-15: when the runtime role touches knex's migration tables, then it may read which migrations ran and change nothing", async () => {
    const names = (await runtime('knex_migrations').pluck('name')) as string[];
    expect(names.some((name) => name.endsWith('_create_users.js'))).toBe(true);
    expect(
      await outcome(
        runtime,
        "insert into knex_migrations (name, batch, migration_time) values ('x.js', 9, now())",
      ),
    ).toBe(DENIED);
    expect(await outcome(runtime, 'delete from knex_migrations')).toBe(DENIED);
    expect(await outcome(runtime, 'update knex_migrations_lock set is_locked = 1')).toBe(DENIED);
    expect(await outcome(runtime, 'select * from knex_migrations_lock')).toBe(DENIED);
  });

  test('DB-15: when create-db-roles.sh runs again after migrations, then it succeeds and the grants are the same', async () => {
    const grants = () =>
      superuser(
        "select string_agg(table_name || ':' || privilege_type, ',' order by table_name, privilege_type) from information_schema.role_table_grants where grantee = 'shipshape_app'",
      );
    const before = grants();
    const result = createRoles();
    expect(result.status).toBe(0);
    expect(grants()).toBe(before);
    expect(before).toContain('knex_migrations:SELECT');
    expect(before).not.toMatch(/knex_migrations(_lock)?:(INSERT|UPDATE|DELETE|TRUNCATE)/);
    expect(before).toContain('notes:DELETE');
  });

  test('DB-15: when a later migration creates a table as the owner, then the runtime role can use its rows and sequence at once', async () => {
    await owner.raw('create table audit_events (id bigserial primary key, what text not null)');
    try {
      await runtime('audit_events').insert({ what: 'granted by default privileges' });
      expect(await runtime('audit_events').count({ n: '*' }).first()).toEqual({ n: '1' });
      expect(await outcome(runtime, 'drop table audit_events')).toBe(DENIED);
    } finally {
      await owner.raw('drop table audit_events');
    }
  });

  test('DB-15: when the built app runs with the runtime role, then it is ready and register, login and notes work through HTTP', async () => {
    await owner.destroy(); // so every connection named 'shipshape' below is the app's
    app = await startBuiltApp({ databaseUrl: runtimeUrl, logFile: join(dir, 'app.log') });
    const base = `http://127.0.0.1:${app.port}`;
    const ready = await waitFor('the app to be ready', async () => {
      const res = await send(`${base}/health/ready`).catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    });
    expect(JSON.parse(ready.text).checks.migrations.status).toBe('up');

    const json = (body: unknown) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const credentials = {
      email: `roles-${randomBytes(4).toString('hex')}@example.test`,
      password: randomSecret(),
    };
    expect(
      (await send(`${base}/api/v1/auth/register`, { method: 'POST', ...json(credentials) })).status,
    ).toBe(201);
    const login = await send(`${base}/api/v1/auth/login`, { method: 'POST', ...json(credentials) });
    expect(login.status).toBe(200);
    const auth = { authorization: `Bearer ${JSON.parse(login.text).token}` };
    const created = await send(`${base}/api/v1/notes`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'as the runtime role' }),
    });
    expect(created.status).toBe(201);
    const id = JSON.parse(created.text).note.id as string;
    const read = await send(`${base}/api/v1/notes/${id}`, { headers: auth });
    expect(JSON.parse(read.text).note.title).toBe('as the runtime role');
    expect((await send(`${base}/api/v1/notes/${id}`, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect((await send(`${base}/api/v1/notes/${id}`, { headers: auth })).status).toBe(404);

    const users = superuser(
      "select usename from pg_stat_activity where application_name = 'shipshape' group by 1",
    );
    expect(users).toBe('shipshape_app');
    expect(readFileSync(join(dir, 'app.log'), 'utf8')).not.toMatch(/permission denied/);
  });

  test("DB-2: when deploy.sh's migrate step loads its settings, then it gets the owner's DATABASE_URL and the service keeps the runtime role's", () => {
    const serviceEnv = join(dir, 'shipshape.env');
    const migrateEnv = join(dir, 'migrate.env');
    writeFileSync(serviceEnv, `APP_ENV=production\nDATABASE_URL=${runtimeUrl}\n`);
    writeFileSync(migrateEnv, `DATABASE_URL=${ownerUrl}\n`);
    const result = run(
      'bash',
      [
        '-c',
        'source deploy/lib.sh; load_env_file; (load_migrate_env && echo "$DATABASE_URL"); echo "$DATABASE_URL"',
      ],
      {
        env: {
          PATH: process.env.PATH,
          SHIPSHAPE_ENV_FILE: serviceEnv,
          SHIPSHAPE_MIGRATE_ENV_FILE: migrateEnv,
        },
      },
    );
    expect(result.stdout.split('\n').slice(0, 2)).toEqual([ownerUrl, runtimeUrl]);
    // Without a migrate.env, the migrate step falls back to the service's settings, as before.
    const without = run(
      'bash',
      ['-c', 'source deploy/lib.sh; load_env_file; (load_migrate_env && echo "$DATABASE_URL")'],
      {
        env: {
          PATH: process.env.PATH,
          SHIPSHAPE_ENV_FILE: serviceEnv,
          SHIPSHAPE_MIGRATE_ENV_FILE: join(dir, 'none'),
        },
      },
    );
    expect(without.stdout.trim()).toBe(runtimeUrl);
  });

  test('when shellcheck reads the roles and compose scripts, then it finds nothing', () => {
    const scripts = [
      'deploy/create-db-roles.sh',
      ...readdirSync(join(REPO, 'deploy', 'compose'))
        .filter((name) => name.endsWith('.sh'))
        .map((name) => `deploy/compose/${name}`),
    ];
    const result = run('shellcheck', ['-x', ...scripts]);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
