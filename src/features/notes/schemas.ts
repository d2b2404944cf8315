import { z } from 'zod';
import { pageQuery, textOfLength, timestamp, trimmedText, uuid } from '../../http/schemas.js';

export const title = () => trimmedText(200);
export const noteBody = () => textOfLength(0, 10_000);

export const noteParams = z.strictObject({ id: uuid() });

/** A page of notes, newest first. */
export const listQuery = pageQuery();

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
