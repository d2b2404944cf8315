import type { Knex } from 'knex';
import { uuidv7 } from '../../db/ids.js';
import { preparedQuery } from '../../db/knex.js';

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string;
  created_at: string;
}

export interface SessionWithUser {
  session_id: string;
  user_id: string;
  email: string;
  name: string | null;
  created_at: string;
}

const USER_COLUMNS = ['id', 'email', 'name', 'created_at'];

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

export async function findUserByEmail(db: Knex, email: string): Promise<UserRow | undefined> {
  return db('users')
    .where({ email })
    .first(...USER_COLUMNS, 'password_hash');
}

export async function insertSession(
  db: Knex,
  session: { userId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db('auth_sessions').insert({
    id: uuidv7(),
    user_id: session.userId,
    token_hash: session.tokenHash,
    expires_at: session.expiresAt,
  });
}

const FIND_ACTIVE_SESSION = `
  select s.id as session_id, u.id as user_id, u.email, u.name, u.created_at
  from auth_sessions s join users u on u.id = s.user_id
  where s.token_hash = ? and s.revoked_at is null and s.expires_at > now()
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

export async function revokeSession(db: Knex, sessionId: string): Promise<void> {
  await db('auth_sessions')
    .where({ id: sessionId })
    .whereNull('revoked_at')
    .update({ revoked_at: db.fn.now() });
}
