import type { Knex } from 'knex';

export interface LiveSessionRow {
  id: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string;
  user_agent: string | null;
  address: string | null;
}

const live = (db: Knex, userId: string) =>
  db('auth_sessions')
    .where({ user_id: userId })
    .whereNull('revoked_at')
    .where('expires_at', '>', db.fn.now());

/** The user's sessions that still work, newest first (a user rarely has more than a handful). */
export function listLiveSessions(db: Knex, userId: string): Promise<LiveSessionRow[]> {
  return live(db, userId)
    .select('id', 'created_at', 'last_used_at', 'expires_at', 'user_agent', 'address')
    .orderBy('id', 'desc')
    .limit(100);
}

/** Revokes one live session of the user; false when it is not theirs or no longer live. */
export async function revokeOwnSession(db: Knex, userId: string, sessionId: string): Promise<boolean> {
  return (await live(db, userId).where({ id: sessionId }).update({ revoked_at: db.fn.now() })) > 0;
}

/** Revokes every live session of the user but the one asking; returns how many. */
export function revokeOtherSessions(db: Knex, userId: string, keep: string): Promise<number> {
  return live(db, userId).whereNot({ id: keep }).update({ revoked_at: db.fn.now() });
}
