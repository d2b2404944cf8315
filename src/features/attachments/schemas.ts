import { z } from 'zod';
import { textOfLength, timestamp, uuid } from '../../http/schemas.js';

export const noteOnly = z.strictObject({ id: uuid() });
export const attachmentParams = z.strictObject({ id: uuid(), attachmentId: uuid() });

/**
 * A file name as a person reads it: no slash, backslash or control character (C0 and DEL), which would make it a
 * path or break the Content-Disposition header. It is only ever shown: on disk the file is named by its id.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const FILENAME = /^[^/\\\u0000-\u001f\u007f]+$/;

export const uploadQuery = z.strictObject({
  filename: textOfLength(1, 255).regex(FILENAME, {
    error: 'must be a file name without a path or control characters',
  }),
});

export const attachmentView = z.object({
  id: uuid(),
  filename: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  createdAt: timestamp(),
});
export const attachmentResponse = z.object({ attachment: attachmentView });
export const attachmentList = z.object({ items: z.array(attachmentView) });
