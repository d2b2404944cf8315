import request from 'supertest';
import {
  type Account,
  bearer,
  expectProblem,
  newPassword,
  signUp,
  uniqueEmail,
  useTestApp,
} from './support/harness';
import { appWithMailbox } from './support/mailbox';
import { waitFor } from './support/waiting';

/** Changing what one logs in with, through HTTP: the password at once, the email once the new address answers. */
const { db } = useTestApp();
const { app, mailbox } = appWithMailbox(db);
const limited = appWithMailbox(db, { AUTH_RATE_LIMIT_MAX: '3' });

const CONFIRM_CHANGE = 'Confirm your new email address';
const CHANGED = 'Your account has a new email address';
const PASSWORD_CHANGED = 'Your password was changed';

const login = (email: string, password: string) =>
  request(app).post('/api/v1/auth/login').send({ email, password });
const sessionOf = async (account: Pick<Account, 'email' | 'password'>) =>
  (await login(account.email, account.password).expect(200)).body as { token: string };
const whoAmI = (session: { token: string }) => request(app).get('/api/v1/users/me').set(bearer(session));
const changePassword = (session: { token: string }, body: object) =>
  request(app).post('/api/v1/users/me/password').set(bearer(session)).send(body);
const changeEmail = (session: { token: string }, body: object) =>
  request(app).post('/api/v1/users/me/email').set(bearer(session)).send(body);
const confirmChange = (token: string) =>
  request(app).post('/api/v1/auth/confirm-email-change').send({ token });
const emailOf = async (userId: string) => (await db('users').where({ id: userId }).first('email')).email;

describe('change password', () => {
  test('when the current password is right, then the new one logs in, the old one does not, every other session ends and this one goes on', async () => {
    const account = await signUp(app);
    const other = await sessionOf(account);
    const replacement = newPassword();

    await changePassword(account, { currentPassword: account.password, newPassword: replacement }).expect(
      204,
    );

    await whoAmI(account).expect(200);
    expectProblem(await whoAmI(other), 401);
    expectProblem(await login(account.email, account.password), 401);
    await login(account.email, replacement).expect(200);
  });

  test('when the current password is wrong, then 403 password-incorrect and the password and sessions stay', async () => {
    const account = await signUp(app);
    const other = await sessionOf(account);

    const refused = await changePassword(account, {
      currentPassword: newPassword(),
      newPassword: newPassword(),
    });

    expect(expectProblem(refused, 403).type).toBe('/problems/password-incorrect');
    await whoAmI(other).expect(200);
    await login(account.email, account.password).expect(200);
  });

  test('when the new password breaks the sign-up policy or a field is missing, then 422 and nothing changes', async () => {
    const account = await signUp(app);
    for (const body of [
      { currentPassword: account.password, newPassword: 'too short' },
      { currentPassword: account.password, newPassword: 'x'.repeat(129) },
      { currentPassword: account.password },
      { newPassword: newPassword() },
    ])
      expectProblem(await changePassword(account, body), 422);
    await login(account.email, account.password).expect(200);
  });

  test("when the password is changed, then its owner is told by mail at the account's address; a wrong current password mails nothing", async () => {
    const account = await signUp(app);
    expectProblem(
      await changePassword(account, { currentPassword: newPassword(), newPassword: newPassword() }),
      403,
    );
    expect(mailbox.to(account.email, PASSWORD_CHANGED)).toEqual([]);

    await changePassword(account, { currentPassword: account.password, newPassword: newPassword() }).expect(
      204,
    );

    const [notice, ...more] = mailbox.to(account.email, PASSWORD_CHANGED);
    expect(more).toEqual([]);
    expect(notice!.text).toContain('was changed');
    expect(notice!.text).toContain('reset your password');
    expect(notice!.text).not.toContain('#token=');
  });

  test('when a password reset is confirmed, then its owner is told by mail that the password was reset', async () => {
    const account = await signUp(app);
    await request(app).post('/api/v1/auth/password-reset').send({ email: account.email }).expect(202);
    await waitFor('the reset mail', async () =>
      mailbox.to(account.email, 'Reset your password').length > 0 ? true : undefined,
    );
    expect(mailbox.to(account.email, PASSWORD_CHANGED)).toEqual([]);

    await request(app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: mailbox.tokenFor(account.email, 'Reset your password'), password: newPassword() })
      .expect(204);

    expect(mailbox.to(account.email, PASSWORD_CHANGED).map((mail) => mail.text)).toEqual([
      expect.stringContaining('was reset with a link mailed to this address'),
    ]);
  });

  test('when a password reset is pending and the password is changed, then the reset link no longer works', async () => {
    const account = await signUp(app);
    await request(app).post('/api/v1/auth/password-reset').send({ email: account.email }).expect(202);
    await waitFor('the reset mail', async () =>
      mailbox.to(account.email, 'Reset your password').length > 0 ? true : undefined,
    );
    const replacement = newPassword();

    await changePassword(account, { currentPassword: account.password, newPassword: replacement }).expect(
      204,
    );

    const reset = await request(app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: mailbox.tokenFor(account.email, 'Reset your password'), password: newPassword() });
    expect(expectProblem(reset, 410).type).toBe('/problems/token-invalid');
    await login(account.email, replacement).expect(200);
  });
});

describe('change email', () => {
  test('when the password is right, then a link goes to the new address, and only its use switches the address, verified, ending every other session', async () => {
    const account = await signUp(app);
    const other = await sessionOf(account);
    const newEmail = uniqueEmail();

    const asked = await changeEmail(account, {
      password: account.password,
      newEmail: newEmail.toUpperCase(),
    });

    expect(asked.status).toBe(202);
    expect(asked.body).toEqual({ status: 'requested', detail: expect.any(String) });
    expect(mailbox.to(newEmail, CONFIRM_CHANGE)[0]!.text).toContain(
      'https://app.example.test/confirm-email-change#token=ss_',
    );
    expect(await emailOf(account.userId)).toBe(account.email);
    await whoAmI(other).expect(200);

    await confirmChange(mailbox.tokenFor(newEmail, CONFIRM_CHANGE)).expect(204);

    const { user } = (await whoAmI(account).expect(200)).body;
    expect(user.email).toBe(newEmail);
    expect(Date.parse(user.emailVerifiedAt)).toBeGreaterThan(Date.now() - 60_000);
    expectProblem(await whoAmI(other), 401);
    expectProblem(await login(account.email, account.password), 401);
    await login(newEmail, account.password).expect(200);
    expect(mailbox.to(account.email, CHANGED)[0]!.text).toContain(newEmail);
  });

  test('when the password is wrong, then 403 password-incorrect and no mail', async () => {
    const account = await signUp(app);
    const newEmail = uniqueEmail();

    const refused = await changeEmail(account, { password: newPassword(), newEmail });

    expect(expectProblem(refused, 403).type).toBe('/problems/password-incorrect');
    expect(mailbox.to(newEmail, CONFIRM_CHANGE)).toEqual([]);
  });

  test('when the new address is taken (in any case) or is the account’s own, then 409 conflict and no mail', async () => {
    const account = await signUp(app);
    const owner = await signUp(app);

    for (const newEmail of [owner.email.toUpperCase(), account.email]) {
      const refused = await changeEmail(account, { password: account.password, newEmail });
      expect(expectProblem(refused, 409).type).toBe('/problems/conflict');
    }
    expect(mailbox.to(owner.email, CONFIRM_CHANGE)).toEqual([]);
    expect(mailbox.to(account.email, CONFIRM_CHANGE)).toEqual([]);
  });

  test('when another account takes the address before the link is used, then 409 and the address stays', async () => {
    const account = await signUp(app);
    const newEmail = uniqueEmail();
    await changeEmail(account, { password: account.password, newEmail }).expect(202);
    await request(app)
      .post('/api/v1/auth/register')
      .send({ email: newEmail, password: newPassword() })
      .expect(201);

    const refused = await confirmChange(mailbox.tokenFor(newEmail, CONFIRM_CHANGE));

    expect(expectProblem(refused, 409).type).toBe('/problems/conflict');
    expect(await emailOf(account.userId)).toBe(account.email);
    await whoAmI(account).expect(200);
  });

  test('when a newer change was asked, or the link was used already, then 410 token-invalid', async () => {
    const account = await signUp(app);
    const [first, second] = [uniqueEmail(), uniqueEmail()];
    await changeEmail(account, { password: account.password, newEmail: first }).expect(202);
    await changeEmail(account, { password: account.password, newEmail: second }).expect(202);

    expectProblem(await confirmChange(mailbox.tokenFor(first, CONFIRM_CHANGE)), 410);
    await confirmChange(mailbox.tokenFor(second, CONFIRM_CHANGE)).expect(204);
    expectProblem(await confirmChange(mailbox.tokenFor(second, CONFIRM_CHANGE)), 410);
    expect(await emailOf(account.userId)).toBe(second);
  });

  test('when the address changes, then links mailed to the old one (reset, verification) no longer work', async () => {
    const account = await signUp(app);
    await request(app).post('/api/v1/auth/password-reset').send({ email: account.email }).expect(202);
    await waitFor('the reset mail', async () =>
      mailbox.to(account.email, 'Reset your password').length > 0 ? true : undefined,
    );
    const newEmail = uniqueEmail();
    await changeEmail(account, { password: account.password, newEmail }).expect(202);
    await confirmChange(mailbox.tokenFor(newEmail, CONFIRM_CHANGE)).expect(204);

    const reset = await request(app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: mailbox.tokenFor(account.email, 'Reset your password'), password: newPassword() });
    expectProblem(reset, 410);
    const verify = await request(app)
      .post('/api/v1/auth/verify-email')
      .send({ token: mailbox.tokenFor(account.email, 'Confirm your email address') });
    expectProblem(verify, 410);
  });

  test('when changes are asked more than three times in an hour, then 429 and no fourth mail', async () => {
    const account = await signUp(app);
    const addresses = [uniqueEmail(), uniqueEmail(), uniqueEmail(), uniqueEmail()];
    for (const newEmail of addresses.slice(0, 3))
      await changeEmail(account, { password: account.password, newEmail }).expect(202);

    const refused = await changeEmail(account, { password: account.password, newEmail: addresses[3] });

    expect(expectProblem(refused, 429).type).toBe('/problems/rate-limited');
    expect(mailbox.to(addresses[3]!, CONFIRM_CHANGE)).toEqual([]);
  });
});

test('SEC-2: when a stolen session guesses the password to change the password or the email, then the auth rate limit stops it with 429', async () => {
  const account = await signUp(limited.app);
  const statuses: number[] = [];
  for (const [path, body] of [
    ['/api/v1/users/me/password', () => ({ currentPassword: newPassword(), newPassword: newPassword() })],
    ['/api/v1/users/me/email', () => ({ password: newPassword(), newEmail: uniqueEmail() })],
  ] as const) {
    for (let i = 0; i < 4; i += 1) {
      const response = await request(limited.app).post(path).set(bearer(account)).send(body());
      statuses.push(response.status);
    }
  }
  // One limit per client address for both paths: the fourth guess is already over it.
  expect(statuses).toEqual([403, 403, 403, 429, 429, 429, 429, 429]);
});
