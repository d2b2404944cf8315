import type { Knex } from 'knex';
import { uuidv7 } from '../../db/ids.js';
import { preparedQuery } from '../../db/knex.js';

export interface NoteRow {
  id: string;
  title: string;
  body: string;
  /** ISO 8601, as the database layer reads every timestamptz (timestampToIso in src/db/knex.ts). */
  created_at: string;
  updated_at: string;
}

const COLUMNS = ['id', 'title', 'body', 'created_at', 'updated_at'];

/** Every query names the owner: a note of another user is indistinguishable from one that does not exist. */
const owned = (db: Knex, userId: string) => db('notes').where({ user_id: userId });

const LIST_NOTES = `select ${COLUMNS.join(', ')} from notes where user_id = ? order by id desc limit ?`;
const LIST_NOTES_BEFORE = `select ${COLUMNS.join(', ')} from notes where user_id = ? and id < ? order by id desc limit ?`;

/**
 * Newest first, one index range scan on (user_id, id); fetches one extra row to know if a page follows.
 * The hottest read, so a prepared statement without the query builder, like findActiveSession.
 */
export async function listNotes(
  db: Knex,
  userId: string,
  page: { limit: number; before?: string },
): Promise<NoteRow[]> {
  const query = page.before
    ? preparedQuery<{ rows: NoteRow[] }>(db, 'list_notes_before', LIST_NOTES_BEFORE, [
        userId,
        page.before,
        page.limit + 1,
      ])
    : preparedQuery<{ rows: NoteRow[] }>(db, 'list_notes', LIST_NOTES, [userId, page.limit + 1]);
  const result = await query;
  return result.rows;
}

export async function insertNote(
  db: Knex,
  userId: string,
  note: { title: string; body: string },
): Promise<NoteRow> {
  const [row] = await db('notes')
    .insert({ id: uuidv7(), user_id: userId, title: note.title, body: note.body })
    .returning(COLUMNS);
  return row;
}

export function findNote(db: Knex, userId: string, id: string): Promise<NoteRow | undefined> {
  return owned(db, userId).where({ id }).first(COLUMNS);
}

export async function updateNote(
  db: Knex,
  userId: string,
  id: string,
  patch: { title?: string | undefined; body?: string | undefined },
): Promise<NoteRow | undefined> {
  const changes = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  const [row] = await owned(db, userId)
    .where({ id })
    .update({ ...changes, updated_at: db.fn.now() })
    .returning(COLUMNS);
  return row;
}

export async function deleteNote(db: Knex, userId: string, id: string): Promise<boolean> {
  return (await owned(db, userId).where({ id }).delete()) > 0;
}
