import { z } from 'zod';
import { textOfLength } from '../../http/schemas.js';
import { email, password } from '../accounts/schemas.js';

export const resetRequestBody = z.strictObject({ email: email() });

export const resetConfirmBody = z.strictObject({
  token: textOfLength(1, 200).describe('The token from the reset mail'),
  password: password(),
});

export const resetRequested = z.object({
  status: z.literal('requested'),
  detail: z.string(),
});
