import type { Knex } from 'knex';

export interface AttachmentRow {
  id: string;
  note_id: string;
  filename: string;
  content_type: string;
  size_bytes: string | number;
  sha256: string;
  created_at: string;
}

const COLUMNS = ['id', 'note_id', 'filename', 'content_type', 'size_bytes', 'sha256', 'created_at'];

export async function insertAttachment(
  db: Knex,
  row: Omit<AttachmentRow, 'created_at'> & { user_id: string },
): Promise<AttachmentRow> {
  const [inserted] = await db('note_attachments').insert(row).returning(COLUMNS);
  return inserted;
}

/** Every query names the owner: another user's attachment looks like none at all. */
const owned = (db: Knex, userId: string, noteId: string) =>
  db('note_attachments').where({ user_id: userId, note_id: noteId });

export function listAttachments(db: Knex, userId: string, noteId: string): Promise<AttachmentRow[]> {
  return owned(db, userId, noteId).select(COLUMNS).orderBy('id').limit(100);
}

export function findAttachment(
  db: Knex,
  userId: string,
  noteId: string,
  id: string,
): Promise<AttachmentRow | undefined> {
  return owned(db, userId, noteId).where({ id }).first(COLUMNS);
}

export async function deleteAttachment(
  db: Knex,
  userId: string,
  noteId: string,
  id: string,
): Promise<boolean> {
  return (await owned(db, userId, noteId).where({ id }).delete()) > 0;
}
