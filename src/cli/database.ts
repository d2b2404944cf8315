import { type Config, loadConfigOrExit } from '../config/index.js';
import { startEmbeddedDatabase } from '../db/embedded.js';
import { createDatabase, type Knex } from '../db/knex.js';

/** Configuration and a database for a one-shot command: the same rules as the server, one connection. */
export async function openForCommand(): Promise<{ config: Config; db: Knex; close(): Promise<void> }> {
  const config = loadConfigOrExit();
  const embedded = config.database.url
    ? undefined
    : await startEmbeddedDatabase({ dataDir: config.database.embeddedDir });
  const db = createDatabase({ url: config.database.url ?? embedded!.url, poolMin: 0, poolMax: 1 });
  return {
    config,
    db,
    async close() {
      await db.destroy();
      await embedded?.stop();
    },
  };
}

export const print = (line: string) => process.stdout.write(`${line}\n`);
