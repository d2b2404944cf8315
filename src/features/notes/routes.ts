import type { Knex } from 'knex';
import type { ReadRouting } from '../../db/read-routing.js';
import { notFound } from '../../http/problem.js';
import { type Route, route } from '../../http/routes.js';
import { encodeCursor } from '../../http/schemas.js';
import type { BusinessEvents } from '../../observability/business-events.js';
import type { FileStore } from '../../storage/files.js';
import { currentAuth } from '../accounts/authenticate.js';
import { deleteNote, findNote, insertNote, listNotes, type NoteRow, updateNote } from './repository.js';
import { createBody, listQuery, notePage, noteParams, noteResponse, updateBody } from './schemas.js';

const toView = (row: NoteRow) => ({
  id: row.id,
  title: row.title,
  body: row.body,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const noteNotFound = () => notFound('No note with this id belongs to you.');

/** Reads go through `reads` (a replica where configured), writes to `db`, the primary. */
export function noteRoutes({
  db,
  reads,
  events,
  files,
}: {
  db: Knex;
  reads: ReadRouting;
  events: BusinessEvents;
  files: FileStore;
}): Route[] {
  const common = { tag: 'notes', auth: 'required' } as const;
  return [
    route({
      ...common,
      method: 'get',
      path: '/notes',
      operationId: 'listNotes',
      summary: 'Your notes, newest first, a page at a time',
      query: listQuery,
      status: 200,
      responses: { 200: { description: 'A page of notes', schema: notePage } },
      handle: async ({ query }, _req, res) => {
        const userId = currentAuth(res).user.id;
        const rows = await reads.read(userId, (reader) =>
          listNotes(reader, userId, { limit: query.limit, before: query.cursor }),
        );
        const items = rows.slice(0, query.limit).map(toView);
        const nextCursor = rows.length > query.limit ? encodeCursor(items.at(-1)!.id) : null;
        res.json({ items, nextCursor });
      },
    }),
    route({
      ...common,
      method: 'post',
      path: '/notes',
      operationId: 'createNote',
      summary: 'Write a note',
      body: createBody,
      status: 201,
      responses: { 201: { description: 'The note, with its URL in Location', schema: noteResponse } },
      handle: async ({ body }, _req, res) => {
        const userId = currentAuth(res).user.id;
        const note = toView(await insertNote(db, userId, body));
        events.record({ kind: 'note-created', userId });
        reads.wrote(userId);
        res.status(201).location(`/api/v1/notes/${note.id}`).json({ note });
      },
    }),
    route({
      ...common,
      method: 'get',
      path: '/notes/:id',
      operationId: 'getNote',
      summary: 'One of your notes',
      params: noteParams,
      status: 200,
      responses: {
        200: { description: 'The note', schema: noteResponse },
        404: { description: 'Not yours or none', problems: ['not-found'] },
      },
      handle: async ({ params }, _req, res) => {
        const userId = currentAuth(res).user.id;
        const row = await reads.read(userId, (reader) => findNote(reader, userId, params.id));
        if (!row) throw noteNotFound();
        res.json({ note: toView(row) });
      },
    }),
    route({
      ...common,
      method: 'patch',
      path: '/notes/:id',
      operationId: 'updateNote',
      summary: 'Change the title or body of one of your notes',
      params: noteParams,
      body: updateBody,
      status: 200,
      responses: {
        200: { description: 'The changed note', schema: noteResponse },
        404: { description: 'Not yours or none', problems: ['not-found'] },
      },
      handle: async ({ params, body }, _req, res) => {
        const userId = currentAuth(res).user.id;
        const row = await updateNote(db, userId, params.id, body);
        reads.wrote(userId);
        if (!row) throw noteNotFound();
        res.json({ note: toView(row) });
      },
    }),
    route({
      ...common,
      method: 'delete',
      path: '/notes/:id',
      operationId: 'deleteNote',
      summary: 'Delete one of your notes',
      params: noteParams,
      status: 204,
      responses: {
        204: { description: 'Deleted' },
        404: { description: 'Not yours or none', problems: ['not-found'] },
      },
      handle: async ({ params }, _req, res) => {
        const userId = currentAuth(res).user.id;
        const deleted = await deleteNote(db, userId, params.id);
        reads.wrote(userId);
        if (!deleted) throw noteNotFound();
        // The rows went with the note (ON DELETE CASCADE); its files go now.
        await files.remove(`${userId}/${params.id}`);
        res.status(204).end();
      },
    }),
  ];
}
