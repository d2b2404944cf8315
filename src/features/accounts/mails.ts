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

/** Where a mailed token leads: the product's page (APP_URL) and when the token stops working. */
interface MailedLink {
  appUrl: string | undefined;
  expiresAt: Date;
}

/**
 * A mail carrying a one-time token: a link into the product (APP_URL) with the token in its fragment, or the
 * token alone without APP_URL; then how long it works and what to do if the reader did not ask.
 */
function tokenMail(
  to: string,
  token: string,
  link: MailedLink,
  mail: { subject: string; intro: string; page: string; action: string; validity?: string; ifNotYou: string },
): MailMessage {
  const url = link.appUrl
    ? `${mail.action} here: ${link.appUrl.replace(/\/$/, '')}/${mail.page}#token=${token}`
    : `${mail.action} with this token: ${token}`;
  const validity = [`It works once, until ${link.expiresAt.toISOString()} (UTC).`, mail.validity].filter(
    Boolean,
  );
  return { to, subject: mail.subject, text: [mail.intro, url, validity.join(' '), mail.ifNotYou].join('\n') };
}

/** Sent at sign-up (and when asked again): the link proves the address reaches the account's owner. */
export const verificationMail = (to: string, token: string, link: MailedLink) =>
  tokenMail(to, token, link, {
    subject: 'Confirm your email address',
    intro: 'Welcome! Please confirm that this address is yours.',
    page: 'verify-email',
    action: 'Confirm it',
    ifNotYou: 'If you did not create an account, ignore this message.',
  });

/** Sent to the new address of an email change: the change happens only when its owner uses the link. */
export const emailChangeMail = (to: string, token: string, link: MailedLink) =>
  tokenMail(to, token, link, {
    subject: 'Confirm your new email address',
    intro: 'Someone (we hope you) asked to use this address for their account.',
    page: 'confirm-email-change',
    action: 'Confirm the change',
    validity: 'Every other session of the account ends then.',
    ifNotYou: 'If you did not ask, ignore this message: nothing changes.',
  });

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
