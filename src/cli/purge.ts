import { purgeExpiredData } from '../features/privacy/retention.js';
import { fileStoreFor } from '../storage/files.js';
import { openForCommand, print } from './database.js';

/** One purge of what the retention policy no longer allows to keep; a timer or the job scheduler runs it daily. */
async function purge(): Promise<void> {
  const { config, db, close } = await openForCommand();
  const { sessionRetentionDays, unverifiedAccountRetentionDays } = config.auth;
  try {
    const purged = await purgeExpiredData(
      db,
      { sessionRetentionDays, unverifiedAccountRetentionDays },
      fileStoreFor(config.uploads),
    );
    print(`purged ${purged.sessions} session(s) ended over ${sessionRetentionDays} days ago`);
    print(
      unverifiedAccountRetentionDays > 0
        ? `purged ${purged.accounts} account(s) never verified in ${unverifiedAccountRetentionDays} days`
        : 'kept accounts never verified (UNVERIFIED_ACCOUNT_RETENTION_DAYS=0)',
    );
    print(`purged ${purged.tokens} used or expired mailed token(s)`);
  } finally {
    await close();
  }
}

purge().catch((error) => {
  console.error('purge failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
