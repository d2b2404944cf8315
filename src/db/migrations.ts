import { readdirSync } from 'node:fs';
import type { Knex } from 'knex';
import { MIGRATIONS_DIR } from './knex.js';

/** The migrations this build ships, by file name, as knex records them. */
export function shippedMigrations(directory = MIGRATIONS_DIR): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.js'))
    .sort();
}

/** Shipped migrations not yet applied: one query, cheap enough for every readiness probe. */
export async function pendingMigrations(db: Knex, shipped: string[]): Promise<string[]> {
  const hasTable = await db.schema.hasTable('knex_migrations');
  if (!hasTable) return shipped;
  const applied = new Set((await db('knex_migrations').pluck('name')) as string[]);
  return shipped.filter((name) => !applied.has(name));
}
