import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { Knex } from '../db/knex.js';
import { MIGRATIONS_DIR } from '../db/knex.js';
import { openForCommand, print } from './database.js';

/** Where a migration merged after a newer one already ran is refused rather than applied out of order. */
const REFUSES_OUT_OF_ORDER: ReadonlySet<Config['appEnv']> = new Set(['staging', 'production']);

const USAGE = `usage: npm run migrate -- latest [--dry-run] | rollback [--all] | status | make NAME
  latest    print the plan, then apply every pending migration (a deploy step in staging and production);
            --dry-run prints the plan only. Staging and production refuse pending migrations older than
            the newest applied one (out of order)
  rollback  undo the last batch (--all: every migration)
  status    list applied and pending migrations; exits 1 when any is pending
  make      write a new migration file with up and down`;

const TEMPLATE = `// @ts-check
/** What this migration changes and why. */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {};
`;

function make(name: string | undefined): void {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error('make needs a NAME of lower-case letters, digits and underscores');
    process.exit(64);
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const path = join(MIGRATIONS_DIR, `${stamp}_${name}.js`);
  writeFileSync(path, TEMPLATE, { flag: 'wx' });
  print(`created ${path}`);
}

/**
 * The plan first, then the migrations. A pending migration older than the newest applied one was written
 * before that one but merged after it: it has never run against the schema as it now is, and a rollback
 * that undoes the last batch would undo it out of order too. Staging and production refuse it, naming it.
 */
async function latest(db: Knex, appEnv: Config['appEnv'], dryRun: boolean): Promise<number> {
  const [done, pending] = (await db.migrate.list()) as [{ name: string }[], { file: string }[]];
  const newest = done
    .map((m) => m.name)
    .sort()
    .at(-1);
  const outOfOrder = newest === undefined ? [] : pending.filter((m) => m.file < newest).map((m) => m.file);
  if (pending.length === 0) print('plan: nothing to apply');
  else {
    print(`plan: apply ${pending.length} migration(s), in this order:`);
    for (const m of pending) print(`  ${m.file}`);
  }
  if (outOfOrder.length > 0) {
    const problem = `out of order: ${outOfOrder.join(', ')} ${outOfOrder.length === 1 ? 'is' : 'are'} older than the newest applied migration ${newest}`;
    if (REFUSES_OUT_OF_ORDER.has(appEnv)) {
      console.error(
        `migrate: refusing to run with APP_ENV=${appEnv}: ${problem}. Give each a name after ${newest} (npm run migrate -- make NAME, then move its code) and check it against the schema as it is now.`,
      );
      return 1;
    }
    print(`warning: ${problem}; ${[...REFUSES_OUT_OF_ORDER].join(' and ')} would refuse this`);
  }
  if (dryRun) {
    print('dry run: nothing applied');
    return 0;
  }
  const [batch, applied] = await db.migrate.latest();
  print(applied.length ? `batch ${batch}: applied ${applied.join(', ')}` : 'already up to date');
  return 0;
}

async function run(command: string | undefined, args: string[]): Promise<number> {
  if (command === 'make') {
    make(args[0]);
    return 0;
  }
  if (!command || !['latest', 'rollback', 'status'].includes(command)) {
    console.error(USAGE);
    return 64;
  }
  const { config, db, close } = await openForCommand();
  try {
    if (command === 'latest') {
      return await latest(db, config.appEnv, args.includes('--dry-run'));
    } else if (command === 'rollback') {
      const [batch, undone] = await db.migrate.rollback(undefined, args.includes('--all'));
      print(undone.length ? `batch ${batch}: rolled back ${undone.join(', ')}` : 'nothing to roll back');
    } else {
      const [applied, pending] = (await db.migrate.list()) as [{ name: string }[], { file: string }[]];
      for (const m of applied) print(`applied  ${m.name}`);
      for (const m of pending) print(`pending  ${m.file}`);
      return pending.length > 0 ? 1 : 0;
    }
    return 0;
  } finally {
    await close();
  }
}

run(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (error) => {
    console.error('migrate failed:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
