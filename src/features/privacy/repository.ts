import type { Knex } from 'knex';
import type { UserRow } from '../accounts/repository.js';
import type { AttachmentRow } from '../attachments/repository.js';
import type { NoteRow } from '../notes/repository.js';

export interface SessionRow {
  id: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string;
  revoked_at: string | null;
  user_agent: string | null;
  address: string | null;
}

/** Every row stored about one user: the account, notes, attachments and sessions (never a token hash). */
export async function collectUserData(db: Knex, userId: string) {
  const [user, notes, sessions, attachments] = await Promise.all([
    db('users')
      .where({ id: userId })
      .first<UserRow | undefined>('id', 'email', 'name', 'password_hash', 'created_at', 'email_verified_at'),
    db('notes')
      .where({ user_id: userId })
      .orderBy('id')
      .select<NoteRow[]>('id', 'title', 'body', 'created_at', 'updated_at'),
    db('auth_sessions')
      .where({ user_id: userId })
      .orderBy('id')
      .select<SessionRow[]>(
        'id',
        'created_at',
        'last_used_at',
        'expires_at',
        'revoked_at',
        'user_agent',
        'address',
      ),
    db('note_attachments')
      .where({ user_id: userId })
      .orderBy('id')
      .select<AttachmentRow[]>(
        'id',
        'note_id',
        'filename',
        'content_type',
        'size_bytes',
        'sha256',
        'created_at',
      ),
  ]);
  return { user, notes, sessions, attachments };
}

/** The stored password hash of a user, to confirm an erasure. */
export async function findPasswordHash(db: Knex, userId: string): Promise<string | undefined> {
  const row = await db('users')
    .where({ id: userId })
    .first<{ password_hash: string } | undefined>('password_hash');
  return row?.password_hash;
}

/** The account row goes, and its notes and sessions with it (ON DELETE CASCADE in the migrations). */
export async function eraseUser(db: Knex, userId: string): Promise<boolean> {
  return (await db('users').where({ id: userId }).delete()) > 0;
}
