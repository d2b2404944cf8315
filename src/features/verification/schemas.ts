import { z } from 'zod';
import { textOfLength } from '../../http/schemas.js';

/** A token from a mail: verification or email change. */
export const mailedTokenBody = z.strictObject({
  token: textOfLength(1, 200).describe('The token from the mail (after #token= in its link)'),
});

export const mailRequested = z.object({
  status: z.literal('requested'),
  detail: z.string(),
});
