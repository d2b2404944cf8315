import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { startEmbeddedDatabase } from '../db/embedded.js';
import { createDatabase, type Knex, MIGRATIONS_DIR } from '../db/knex.js';
import { judge, lintStatements, RULES } from '../db/migration-lint.js';
import { print } from './database.js';

const USAGE = `usage: npm run lint:migrations [-- --dir DIR]
  Runs every migration of DIR (default migrations/) in order on a scratch embedded database, records the SQL
  each one sends, and flags what would break the previous release or lock a live table:
  ${Object.keys(RULES).join(', ')}.
  A reviewed contract step accepts named rules: exports.contract = { reviewed: 'why', allows: ['drop-column'] }`;

interface MigrationModule {
  up(knex: Knex): Promise<unknown>;
  config?: { transaction?: boolean };
  contract?: unknown;
}

/**
 * The SQL one migration's up sends, statement by statement, run as knex's migrator would run it; when it
 * fails, the statements up to the failing one (knex reports a query before it runs) and the error.
 */
async function capture(
  db: Knex,
  migration: MigrationModule,
): Promise<{ statements: string[]; error?: string }> {
  const statements: string[] = [];
  const record = (query: { sql: string }) => statements.push(query.sql);
  db.on('query', record);
  try {
    if (migration.config?.transaction === false) await migration.up(db);
    else await db.transaction((trx) => migration.up(trx));
    return { statements };
  } catch (error) {
    return { statements, error: error instanceof Error ? error.message : String(error) };
  } finally {
    db.off('query', record);
  }
}

async function main(args: string[]): Promise<number> {
  let dir = MIGRATIONS_DIR;
  if (args[0] === '--dir' && args[1]) dir = resolve(args[1]);
  else if (args.length > 0) {
    console.error(USAGE);
    return 64;
  }
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.js'))
    .sort();
  const embedded = await startEmbeddedDatabase({ dataDir: '' });
  const db = createDatabase({ url: embedded.url, poolMin: 0, poolMax: 1 });
  const load = createRequire(join(dir, 'index.js'));
  let problems = 0;
  let reviewed = 0;
  try {
    for (const file of files) {
      const shown = relative(process.cwd(), join(dir, file));
      const migration = load(join(dir, file)) as MigrationModule;
      const { statements, error } = await capture(db, migration);
      const verdict = judge(
        await lintStatements(statements, migration.config?.transaction !== false),
        migration.contract,
      );
      for (const problem of verdict.markProblems) {
        print(`${shown}: ${problem}`);
        problems++;
      }
      for (const finding of verdict.findings) {
        print(`${shown}: ${finding.rule}: ${finding.detail}: ${RULES[finding.rule]}`);
        problems++;
      }
      if (verdict.accepted.length > 0) reviewed++;
      if (error) {
        // The migrations after it build on what it should have done: stop here.
        print(`${shown}: does not run: ${error}`);
        problems++;
        break;
      }
    }
  } finally {
    await db.destroy();
    await embedded.stop();
  }
  if (problems > 0) {
    print(
      `migration lint: ${problems} problem(s). Split the change into expand and contract steps, or mark a reviewed contract step (docs/migrations-and-maintenance.md)`,
    );
    return 1;
  }
  print(`migration lint: ${files.length} migrations, no problems (${reviewed} reviewed contract steps)`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error('lint:migrations failed:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
