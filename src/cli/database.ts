import { type Config, loadConfigOrExit } from '../config/index.js';
import type { Knex } from '../db/knex.js';
import { openDatabase } from '../wiring/database.js';

/** Configuration and a database for a one-shot command: the same rules as the server, one connection. */
export async function openForCommand(): Promise<{ config: Config; db: Knex; close(): Promise<void> }> {
  const config = loadConfigOrExit();
  const { db, close } = await openDatabase(config.database, { singleConnection: true });
  return { config, db, close: () => close() };
}

export const print = (line: string) => process.stdout.write(`${line}\n`);
