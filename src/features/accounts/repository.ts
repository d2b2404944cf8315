import type { Knex } from 'knex';
import { uuidv7 } from '../../db/ids.js';
import { preparedQuery } from '../../db/knex.js';

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string;
  created_at: string;
  email_verified_at: string | null;
}

export type Role = 'user' | 'admin';

export interface SessionWithUser {
  session_id: string;
  last_used_at: string | null;
  expires_at: string;
  user_id: string;
  email: string;
  name: string | null;
  role: Role;
  created_at: string;
  email_verified_at: string | null;
}

const USER_COLUMNS = ['id', 'email', 'name', 'created_at', 'email_verified_at'];

/** Inserts a user; returns undefined when the email is taken (the unique constraint decides, no race). */
export async function insertUser(
  db: Knex,
  user: { email: string; name: string | undefined; passwordHash: string },
): Promise<UserRow | undefined> {
  const [row] = await db('users')
    .insert({ id: uuidv7(), email: user.email, name: user.name ?? null, password_hash: user.passwordHash })
    .onConflict('email')
    .ignore()
    .returning(USER_COLUMNS);
  return row;
}

export async function findUserByEmail(db: Knex, email: string): Promise<(UserRow & LoginState) | undefined> {
  return db('users')
    .where({ email })
    .first(...USER_COLUMNS, 'password_hash', 'disabled_at', 'failed_logins', 'locked_until');
}

export interface LoginState {
  disabled_at: string | null;
  failed_logins: number;
  locked_until: string | null;
}

/**
 * Counts a failed login in one statement (concurrent failures cannot be lost); at the threshold the account is
 * locked for the given minutes and the count starts again. Returns the lock's end when this failure set it.
 */
export async function recordFailedLogin(
  db: Knex,
  userId: string,
  policy: { threshold: number; minutes: number },
): Promise<string | undefined> {
  const result = await db.raw<{ rows: { locked_until: string | null; locked_now: boolean }[] }>(
    `update users set
       failed_logins = case when failed_logins + 1 >= :threshold then 0 else failed_logins + 1 end,
       locked_until = case when failed_logins + 1 >= :threshold
                           then now() + make_interval(mins => :minutes) else locked_until end
     where id = :userId
     returning locked_until, (failed_logins = 0) as locked_now`,
    { userId, threshold: policy.threshold, minutes: policy.minutes },
  );
  const row = result.rows[0];
  return row?.locked_now && row.locked_until ? row.locked_until : undefined;
}

export async function clearFailedLogins(db: Knex, userId: string): Promise<void> {
  await db('users').where({ id: userId }).update({ failed_logins: 0, locked_until: null });
}

export async function insertSession(
  db: Knex,
  session: { userId: string; tokenHash: string; expiresAt: Date; userAgent?: string; address?: string },
): Promise<void> {
  await db('auth_sessions').insert({
    id: uuidv7(),
    user_id: session.userId,
    token_hash: session.tokenHash,
    expires_at: session.expiresAt,
    last_used_at: db.fn.now(),
    user_agent: session.userAgent?.slice(0, 256) ?? null,
    address: session.address?.slice(0, 64) ?? null,
  });
}

const FIND_ACTIVE_SESSION = `
  select s.id as session_id, s.last_used_at, s.expires_at, u.id as user_id, u.email, u.name, u.role, u.created_at,
         u.email_verified_at
  from auth_sessions s join users u on u.id = s.user_id
  where s.token_hash = ? and s.revoked_at is null and s.expires_at > now() and u.disabled_at is null
  limit 1`;

/**
 * The session behind a token and its user, in one query, only while unexpired and unrevoked. Every
 * authenticated request runs it, so it is a prepared statement of plain SQL: knex's query builder cost more
 * than the query itself (docs/performance.md, changes 4 and 10).
 */
export async function findActiveSession(db: Knex, tokenHash: string): Promise<SessionWithUser | undefined> {
  const result = await preparedQuery<{ rows: SessionWithUser[] }>(
    db,
    'find_active_session',
    FIND_ACTIVE_SESSION,
    [tokenHash],
  );
  return result.rows[0];
}

/** Marks a session used now; called at most every few minutes per session, so reads stay reads. */
export async function touchSession(db: Knex, sessionId: string): Promise<void> {
  await db('auth_sessions').where({ id: sessionId }).update({ last_used_at: db.fn.now() });
}

export async function revokeSession(db: Knex, sessionId: string): Promise<void> {
  await db('auth_sessions')
    .where({ id: sessionId })
    .whereNull('revoked_at')
    .update({ revoked_at: db.fn.now() });
}
