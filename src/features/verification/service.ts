import { TOKEN_PURPOSES } from '../accounts/account-tokens.js';
import { verificationMail } from '../accounts/mails.js';
import { mailToken, type TokenMailDeps, type TokenMailOutcome } from '../accounts/token-mail.js';

export interface VerificationDeps extends TokenMailDeps {
  /** Hours a verification link stays valid. */
  ttlHours: number;
  /** Where the product lives, for the link in the mail; without it the mail carries the token alone. */
  appUrl: string | undefined;
}

/** Mails a fresh verification link to the account's address, within the hourly cap. */
export async function mailVerification(
  deps: VerificationDeps,
  user: { id: string; email: string },
): Promise<TokenMailOutcome> {
  const { outcome } = await mailToken(
    deps,
    { userId: user.id, purpose: TOKEN_PURPOSES.verifyEmail, ttlMs: deps.ttlHours * 3_600_000 },
    (token, expiresAt) => verificationMail(user.email, token, { appUrl: deps.appUrl, expiresAt }),
  );
  return outcome;
}
