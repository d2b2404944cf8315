import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createDatabase } from '../src/db/knex';
import { shippedMigrations } from '../src/db/migrations';
import { warnOnUnsafePoolSize } from '../src/db/pool-sizing';
import { createLogger } from '../src/observability/logger';
import { testDatabaseUrl } from './support/harness';
import { type IsolatedDatabase, isolatedDatabase } from './support/isolated-database';
import { runScript } from './support/processes';

const run = runScript;

describe('npm run migrate', () => {
  const env = () => ({ APP_ENV: 'testing', DATABASE_URL: testDatabaseUrl() });

  test('when every migration is applied, then status lists them and exits 0, and latest has nothing to do', async () => {
    const status = await run('src/cli/migrate.ts', ['status'], env());
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/applied {2}20261123000001_create_users\.js/);
    expect(status.stdout).not.toMatch(/pending/);
    const latest = await run('src/cli/migrate.ts', ['latest'], env());
    expect(latest.stdout.trim()).toBe('plan: nothing to apply\nalready up to date');
  });

  test('when the command is unknown, then the usage is printed and the exit status is 64', async () => {
    const result = await run('src/cli/migrate.ts', ['sideways'], env());
    expect(result.status).toBe(64);
    expect(result.stderr).toContain(
      'usage: npm run migrate -- latest [--dry-run] | rollback [--all] | status | make NAME',
    );
  });
});

describe('OPS-15: npm run migrate -- latest on a database of its own', () => {
  let isolated: IsolatedDatabase;
  let db: ReturnType<typeof createDatabase>;
  beforeAll(async () => {
    isolated = await isolatedDatabase('cli');
    db = createDatabase({ url: isolated.url, poolMin: 0, poolMax: 1 });
  });
  afterAll(async () => {
    await db.destroy();
    await isolated.drop();
  });
  const production = () => ({
    APP_ENV: 'production',
    DATABASE_URL: isolated.url,
    SECRET_KEY: randomBytes(48).toString('base64url'),
    TRUST_PROXY: '1',
  });
  const appliedNames = async () =>
    (await db.schema.hasTable('knex_migrations'))
      ? ((await db('knex_migrations').orderBy('name').pluck('name')) as string[])
      : [];

  test('OPS-15: when latest runs with --dry-run, then it prints the plan in order and applies nothing', async () => {
    const result = await run('src/cli/migrate.ts', ['latest', '--dry-run'], production());
    expect(result.status).toBe(0);
    const shipped = shippedMigrations();
    expect(result.stdout).toBe(
      [
        `plan: apply ${shipped.length} migration(s), in this order:`,
        ...shipped.map((name) => `  ${name}`),
        'dry run: nothing applied',
        '',
      ].join('\n'),
    );
    expect(await appliedNames()).toEqual([]);
  });

  test('OPS-15: when latest runs, then the plan is printed before the migrations are applied', async () => {
    const result = await run('src/cli/migrate.ts', ['latest'], production());
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^plan: apply \d+ migration\(s\), in this order:$/);
    expect(lines.at(-1)).toMatch(/^batch 1: applied .*create_users/);
    expect(await appliedNames()).toEqual(shippedMigrations());
    const again = await run('src/cli/migrate.ts', ['latest'], production());
    expect(again.stdout).toBe('plan: nothing to apply\nalready up to date\n');
  });

  test('OPS-15: when a pending migration is older than the newest applied one in production, then migrate refuses, naming both, and changes nothing', async () => {
    const migrations = shippedMigrations();
    const [third, newest] = [migrations[2]!, migrations.at(-1)!];
    // As if notes had been merged after the newer migration already ran: applied, then forgotten by knex.
    await db('knex_migrations').where({ name: third }).delete();
    const before = await appliedNames();

    const refused = await run('src/cli/migrate.ts', ['latest'], production());
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain(`plan: apply 1 migration(s), in this order:\n  ${third}\n`);
    expect(refused.stderr).toContain(
      `migrate: refusing to run with APP_ENV=production: out of order: ${third} is older than the newest applied migration ${newest}`,
    );
    expect(await appliedNames()).toEqual(before);

    const development = await run('src/cli/migrate.ts', ['latest', '--dry-run'], {
      APP_ENV: 'testing',
      DATABASE_URL: isolated.url,
    });
    expect(development.status).toBe(0);
    expect(development.stdout).toContain(
      `warning: out of order: ${third} is older than the newest applied migration ${newest}`,
    );
    expect(await appliedNames()).toEqual(before);
  });
});

describe('DB-8: npm run seed', () => {
  test('when APP_ENV is not development, then seeding is refused and nothing is written', async () => {
    const db = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 1 });
    const result = await run('src/cli/seed.ts', [], { APP_ENV: 'testing', DATABASE_URL: testDatabaseUrl() });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('seed runs only with APP_ENV=development');
    expect(await db('users').where({ email: 'demo@example.test' }).first()).toBeUndefined();
    await db.destroy();
  });
});

describe('DB-3: pool sizing', () => {
  const warnings: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      warnings.push(
        ...chunk
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((line: string) => JSON.parse(line)),
      );
      done();
    },
  });
  const logger = createLogger({ level: 'warn', pretty: false, destination: sink });
  const db = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 1 });
  afterAll(() => db.destroy());

  test('when processes x pool max exceed what max_connections leaves, then a warning gives the numbers', async () => {
    await warnOnUnsafePoolSize(db, logger, { processes: 64, poolMax: 10 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', processes: 64, poolMax: 10, wanted: 640 });
    expect(warnings[0]!.maxConnections).toEqual(expect.any(Number));
  });

  test('when the pools fit but not with the session-cache listener of each process, then the warning counts the listener', async () => {
    warnings.length = 0;
    const { rows } = await db.raw(
      "select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - 5 as available",
    );
    const available = (rows[0] as { available: number }).available;
    const processes = Math.floor(available / 10);
    await warnOnUnsafePoolSize(db, logger, { processes, poolMax: 10 });
    expect(warnings).toEqual([]);
    await warnOnUnsafePoolSize(db, logger, { processes, poolMax: 10, listeners: 1 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ processes, poolMax: 10, listeners: 1, wanted: processes * 11 });
  });

  test('when the pools fit, then nothing is logged', async () => {
    warnings.length = 0;
    await warnOnUnsafePoolSize(db, logger, { processes: 2, poolMax: 10 });
    expect(warnings).toEqual([]);
  });
});
