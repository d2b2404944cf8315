import type { Request } from 'express';
import type { Knex } from 'knex';
import { uuidv7 } from '../../db/ids.js';
import { notFound, Problem } from '../../http/problem.js';
import { type Route, route } from '../../http/routes.js';
import { type FileStore, FileTooLarge } from '../../storage/files.js';
import { currentAuth } from '../accounts/authenticate.js';
import { findNote } from '../notes/repository.js';
import {
  type AttachmentRow,
  deleteAttachment,
  findAttachment,
  insertAttachment,
  listAttachments,
} from './repository.js';
import { attachmentList, attachmentParams, attachmentResponse, noteOnly, uploadQuery } from './schemas.js';
import { ATTACHMENT_TYPES, ContentMismatch, isAttachmentType, sniffing } from './sniff.js';

export interface AttachmentOptions {
  db: Knex;
  files: FileStore;
  maxBytes: number;
  /**
   * Set behind nginx: a download answers with X-Accel-Redirect to this internal prefix and nginx sends the
   * file, so no app worker is held by a slow download. Unset: the app streams the file itself. A store with
   * download URLs (S3) needs neither: the client is redirected to the bucket.
   */
  accelPrefix: string | undefined;
}

const TYPES = Object.keys(ATTACHMENT_TYPES);
const UPLOAD_PATH = /^\/v1\/notes\/[^/]+\/attachments$/;

/** The upload reads its own body (a stream, not JSON): the JSON parser mounted on /api lets it through. */
export const readsOwnBody = (req: Request) => req.method === 'POST' && UPLOAD_PATH.test(req.path);

const keyOf = (userId: string, noteId: string, id?: string) => [userId, noteId, id].filter(Boolean).join('/');

const toView = (row: AttachmentRow) => ({
  id: row.id,
  filename: row.filename,
  contentType: row.content_type,
  size: Number(row.size_bytes),
  sha256: row.sha256,
  createdAt: row.created_at,
});

const noteNotFound = () => notFound('No note with this id belongs to you.');
const attachmentNotFound = () => notFound('No attachment with this id is on this note of yours.');

export function attachmentRoutes(options: AttachmentOptions): Route[] {
  const { db, files, maxBytes } = options;
  const common = { tag: 'notes', auth: 'required' } as const;
  return [
    route({
      ...common,
      method: 'post',
      path: '/notes/:id/attachments',
      operationId: 'uploadAttachment',
      summary: 'Attach a file to one of your notes: the request body is the file',
      params: noteOnly,
      query: uploadQuery,
      upload: { contentTypes: TYPES, maxBytes },
      status: 201,
      responses: {
        201: { description: 'Stored; Location is its download URL', schema: attachmentResponse },
        404: { description: 'Not your note or none', problems: ['not-found'] },
      },
      handle: async ({ params, query }, req, res) => {
        const userId = currentAuth(res).user.id;
        const declared = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (!isAttachmentType(declared))
          throw new Problem(
            'unsupported-media-type',
            `Attach one of ${TYPES.join(', ')}, with its Content-Type.`,
          );
        const encoding = req.headers['content-encoding'];
        if (encoding && encoding !== 'identity')
          throw new Problem('unsupported-media-type', 'Send the file as it is, without a Content-Encoding.');
        if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge(maxBytes);
        if (!(await findNote(db, userId, params.id))) throw noteNotFound();
        const id = uuidv7();
        const key = keyOf(userId, params.id, id);
        const stored = await files.save(key, req, maxBytes, [sniffing(declared)]).catch((error: unknown) => {
          if (error instanceof FileTooLarge) throw tooLarge(maxBytes);
          if (error instanceof ContentMismatch)
            throw new Problem('unsupported-media-type', `The file's content is not ${declared}.`);
          throw error;
        });
        const row = await insertAttachment(db, {
          id,
          note_id: params.id,
          user_id: userId,
          filename: query.filename,
          content_type: declared,
          size_bytes: stored.size,
          sha256: stored.sha256,
        }).catch(async (error: unknown) => {
          await files.remove(key);
          // The note went between the check and the insert: the same answer as if it had gone before.
          if ((error as { code?: string }).code === '23503') throw noteNotFound();
          throw error;
        });
        res
          .status(201)
          .location(`/api/v1/notes/${params.id}/attachments/${id}`)
          .json({ attachment: toView(row) });
      },
    }),
    route({
      ...common,
      method: 'get',
      path: '/notes/:id/attachments',
      operationId: 'listAttachments',
      summary: "A note's attachments, oldest first",
      params: noteOnly,
      status: 200,
      responses: {
        200: { description: 'The attachments', schema: attachmentList },
        404: { description: 'Not your note or none', problems: ['not-found'] },
      },
      handle: async ({ params }, _req, res) => {
        const userId = currentAuth(res).user.id;
        if (!(await findNote(db, userId, params.id))) throw noteNotFound();
        res.json({ items: (await listAttachments(db, userId, params.id)).map(toView) });
      },
    }),
    route({
      ...common,
      method: 'get',
      path: '/notes/:id/attachments/:attachmentId',
      operationId: 'downloadAttachment',
      summary: 'The file, as it was uploaded',
      params: attachmentParams,
      status: 200,
      responses: {
        200: {
          description:
            'The file, with Content-Disposition: attachment (files kept on the server: UPLOAD_STORE=local)',
          binary: TYPES,
        },
        303: {
          description:
            'The file is in an object store (UPLOAD_STORE=s3): GET the Location, a signed URL valid for ' +
            "S3_DOWNLOAD_URL_TTL_SECONDS, without this API's Authorization header (clients drop it across origins)",
          headers: { Location: 'A short-lived URL of the file, with Content-Disposition: attachment' },
        },
        404: { description: 'Not yours or none', problems: ['not-found'] },
      },
      handle: async ({ params }, _req, res) => {
        const userId = currentAuth(res).user.id;
        const row = await findAttachment(db, userId, params.id, params.attachmentId);
        if (!row) throw attachmentNotFound();
        const key = keyOf(userId, params.id, row.id);
        if (files.downloadUrl) {
          // Authorized here, served by the bucket: no worker carries the bytes.
          const url = await files.downloadUrl(key, { filename: row.filename, contentType: row.content_type });
          res.status(303).location(url).end();
          return;
        }
        // Never rendered by the browser in the API's origin: downloaded, under the name it was given.
        res
          .attachment(row.filename)
          .type(row.content_type)
          .set('Content-Security-Policy', "sandbox; default-src 'none'");
        if (options.accelPrefix) {
          res.set('X-Accel-Redirect', `${options.accelPrefix}${key}`).end();
          return;
        }
        const file = await files.read(key);
        res.set('Content-Length', String(file.size));
        file.stream.pipe(res);
      },
    }),
    route({
      ...common,
      method: 'delete',
      path: '/notes/:id/attachments/:attachmentId',
      operationId: 'deleteAttachment',
      summary: 'Remove an attachment from one of your notes',
      params: attachmentParams,
      status: 204,
      responses: {
        204: { description: 'Deleted, with its file' },
        404: { description: 'Not yours or none', problems: ['not-found'] },
      },
      handle: async ({ params }, _req, res) => {
        const userId = currentAuth(res).user.id;
        if (!(await deleteAttachment(db, userId, params.id, params.attachmentId))) throw attachmentNotFound();
        await files.remove(keyOf(userId, params.id, params.attachmentId));
        res.status(204).end();
      },
    }),
  ];
}

const tooLarge = (maxBytes: number) =>
  new Problem('body-too-large', `An attachment may be at most ${maxBytes} bytes (UPLOAD_MAX_BYTES).`);

/** The file store key of everything a note or a user owns, for removal with them. */
export const noteFilesKey = (userId: string, noteId: string) => keyOf(userId, noteId);
