import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR } from '../db/knex.js';
import { openForCommand, print } from './database.js';

const USAGE = `usage: npm run migrate -- latest | rollback [--all] | status | make NAME
  latest    apply every pending migration (a deploy step in staging and production)
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

async function run(command: string | undefined, args: string[]): Promise<number> {
  if (command === 'make') {
    make(args[0]);
    return 0;
  }
  if (!command || !['latest', 'rollback', 'status'].includes(command)) {
    console.error(USAGE);
    return 64;
  }
  const { db, close } = await openForCommand();
  try {
    if (command === 'latest') {
      const [batch, applied] = await db.migrate.latest();
      print(applied.length ? `batch ${batch}: applied ${applied.join(', ')}` : 'already up to date');
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
