import type { Knex } from 'knex';
import type { FileStore } from '../../storage/files.js';

export interface RetentionPolicy {
  /** Days an expired or revoked session is kept (who logged in from where, for an inquiry) before it goes. */
  sessionRetentionDays: number;
  /** Days an account that never verified its address is kept; 0: for ever. */
  unverifiedAccountRetentionDays: number;
}

export interface Purged {
  sessions: number;
  accounts: number;
  tokens: number;
}

const daysAgo = (db: Knex, days: number) => db.raw(`now() - make_interval(days => ?)`, [days]);

/**
 * Deletes what the retention policy (docs/data-retention.md) no longer allows to keep. Safe to run from any
 * number of processes at once: each row goes once, and a second run finds nothing. `files` removes the
 * attachments of purged accounts, as an erasure does.
 */
export async function purgeExpiredData(
  db: Knex,
  policy: RetentionPolicy,
  files?: FileStore,
): Promise<Purged> {
  const cutoff = daysAgo(db, policy.sessionRetentionDays);
  const sessions = await db('auth_sessions')
    .where((ended) => ended.where('expires_at', '<', cutoff).orWhere('revoked_at', '<', cutoff))
    .delete();
  const accounts: { id: string }[] =
    policy.unverifiedAccountRetentionDays > 0
      ? await db('users')
          .whereNull('email_verified_at')
          .where('created_at', '<', daysAgo(db, policy.unverifiedAccountRetentionDays))
          .delete()
          .returning('id')
      : [];
  for (const { id } of accounts) await files?.remove(id);
  // A used or expired token can do nothing; it is kept only while the hourly cap on mails still counts it.
  const tokens = await db('account_tokens')
    .where((dead) => dead.whereNotNull('used_at').orWhere('expires_at', '<', db.fn.now()))
    .where('created_at', '<', db.raw("now() - interval '1 hour'"))
    .delete();
  return { sessions, accounts: accounts.length, tokens };
}
