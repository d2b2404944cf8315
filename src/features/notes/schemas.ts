import { z } from 'zod';
import { queryInt, textOfLength, timestamp, trimmedText, uuid } from '../../http/schemas.js';

export const title = () => trimmedText(200);
export const noteBody = () => textOfLength(0, 10_000);

export const noteParams = z.strictObject({ id: uuid() });

/** An opaque cursor: the last id of the previous page, so pages stay stable while notes are added. */
export const cursor = () =>
  z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'is not a cursor this API returned' })
    .meta({ description: 'Opaque: the nextCursor of the previous page, sent back unchanged.' })
    .transform((value, ctx) => {
      const id = Buffer.from(value, 'base64url').toString('utf8');
      if (!uuid().safeParse(id).success) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
        return z.NEVER;
      }
      return id;
    });
export const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');

export const listQuery = z.strictObject({
  limit: queryInt(1, 100, 20),
  cursor: cursor().optional(),
});

export const createBody = z.strictObject({ title: title(), body: noteBody().default('') });

export const updateBody = z
  .strictObject({ title: title().optional(), body: noteBody().optional() })
  .refine((patch) => patch.title !== undefined || patch.body !== undefined, {
    error: 'send at least one of title, body',
  })
  .meta({ minProperties: 1 });

export const noteView = z.object({
  id: uuid(),
  title: z.string(),
  body: z.string(),
  createdAt: timestamp(),
  updatedAt: timestamp(),
});
export const noteResponse = z.object({ note: noteView });
export const notePage = z.object({ items: z.array(noteView), nextCursor: z.string().nullable() });
