import { z } from 'zod';
import { textOfLength } from '../../http/schemas.js';
import { email, password } from '../accounts/schemas.js';

/** The current password, checked against the hash: a stolen session alone cannot change what logs in. */
const currentPassword = () => textOfLength(1, 128);

export const changePasswordBody = z.strictObject({
  currentPassword: currentPassword(),
  newPassword: password(),
});

export const changeEmailBody = z.strictObject({
  password: currentPassword(),
  newEmail: email(),
});
