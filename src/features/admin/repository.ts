import type { Knex } from 'knex';
import type { Role } from '../accounts/repository.js';

export interface AdminUserRow {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  created_at: string;
  email_verified_at: string | null;
  disabled_at: string | null;
}

const COLUMNS = ['id', 'email', 'name', 'role', 'created_at', 'email_verified_at', 'disabled_at'];

/** Oldest first, by id (UUIDv7: creation order); one extra row says whether a page follows. */
export function listUsers(db: Knex, page: { limit: number; after?: string }): Promise<AdminUserRow[]> {
  const query = db('users')
    .select(COLUMNS)
    .orderBy('id')
    .limit(page.limit + 1);
  return page.after ? query.where('id', '>', page.after) : query;
}

/**
 * Disables or re-enables an account. Disabling revokes every session in the same transaction, so no request
 * of that user is served after the answer.
 */
export async function setDisabled(
  db: Knex,
  userId: string,
  disabled: boolean,
): Promise<AdminUserRow | undefined> {
  return db.transaction(async (trx) => {
    const [row] = await trx('users')
      .where({ id: userId })
      .update({ disabled_at: disabled ? trx.fn.now() : null, updated_at: trx.fn.now() })
      .returning(COLUMNS);
    if (row && disabled) {
      await trx('auth_sessions')
        .where({ user_id: userId })
        .whereNull('revoked_at')
        .update({ revoked_at: trx.fn.now() });
    }
    return row;
  });
}

/** Grants or withdraws a role by email (the admin CLI); false when no account has that email. */
export async function setRole(db: Knex, email: string, role: Role): Promise<boolean> {
  return (
    (await db('users').where({ email: email.toLowerCase() }).update({ role, updated_at: db.fn.now() })) > 0
  );
}
