import type { MailMessage } from '../../mail/mailer.js';

/** Told to the account's owner when failed logins lock it: the one who can tell an attack from a typo. */
export function lockoutMail(to: string, until: string): MailMessage {
  return {
    to,
    subject: 'Your account was locked after failed logins',
    text: [
      'Someone tried to log in to your account with a wrong password too many times in a row, so logins are',
      `paused until ${until} (UTC).`,
      '',
      'If it was you, wait and try again. If it was not, someone may know your email address and be guessing',
      'your password: once you can log in, choose a new, long password, and end sessions you do not recognise',
      '(DELETE /api/v1/users/me/sessions ends every session but the current one).',
    ].join('\n'),
  };
}

/** A link into the product (APP_URL) carrying a mailed token; without APP_URL the mail shows the token alone. */
function tokenLine(appUrl: string | undefined, page: string, token: string, action: string): string {
  return appUrl
    ? `${action} here: ${appUrl.replace(/\/$/, '')}/${page}#token=${token}`
    : `${action} with this token: ${token}`;
}

/** Sent at sign-up (and when asked again): the link proves the address reaches the account's owner. */
export function verificationMail(
  to: string,
  token: string,
  link: { appUrl: string | undefined; expiresAt: Date },
): MailMessage {
  return {
    to,
    subject: 'Confirm your email address',
    text: [
      'Welcome! Please confirm that this address is yours.',
      tokenLine(link.appUrl, 'verify-email', token, 'Confirm it'),
      `It works once, until ${link.expiresAt.toISOString()} (UTC).`,
      'If you did not create an account, ignore this message.',
    ].join('\n'),
  };
}

/** Sent to the new address of an email change: the change happens only when its owner uses the link. */
export function emailChangeMail(
  to: string,
  token: string,
  link: { appUrl: string | undefined; expiresAt: Date },
): MailMessage {
  return {
    to,
    subject: 'Confirm your new email address',
    text: [
      'Someone (we hope you) asked to use this address for their account.',
      tokenLine(link.appUrl, 'confirm-email-change', token, 'Confirm the change'),
      `It works once, until ${link.expiresAt.toISOString()} (UTC). Every other session of the account ends then.`,
      'If you did not ask, ignore this message: nothing changes.',
    ].join('\n'),
  };
}

/** Told to the old address once a change is confirmed: its owner may not be the one who changed it. */
export function emailChangedNotice(to: string, newEmail: string): MailMessage {
  return {
    to,
    subject: 'Your account has a new email address',
    text: [
      `The email address of your account was changed to ${newEmail}; this address no longer logs in.`,
      '',
      'If you did not make this change, someone else knows your password and can now reset it: contact support',
      'at once, quoting this message.',
    ].join('\n'),
  };
}

/** Told to the owner after a change or a reset of the password: the one who can tell if it was not them. */
export function passwordChangedNotice(to: string, how: 'changed' | 'reset'): MailMessage {
  return {
    to,
    subject: 'Your password was changed',
    text: [
      how === 'reset'
        ? 'The password of your account was reset with a link mailed to this address, and every session ended.'
        : 'The password of your account was changed, and every other session ended.',
      '',
      'If you did not make this change, reset your password at once (a link is mailed to this address) and',
      'contact support, quoting this message.',
    ].join('\n'),
  };
}
