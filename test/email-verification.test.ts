import request from 'supertest';
import { bearer, expectProblem, newPassword, signUp, uniqueEmail, useTestApp } from './support/harness';
import { appWithMailbox } from './support/mailbox';
import { waitFor } from './support/waiting';

/** Email verification through HTTP: the mailed link, asking again, and logins while verification is required. */
const { db } = useTestApp();
const { app, mailbox } = appWithMailbox(db);
const strict = appWithMailbox(db, { REQUIRE_VERIFIED_EMAIL: 'true' });

const VERIFY = 'Confirm your email address';
const verify = (token: string) => request(app).post('/api/v1/auth/verify-email').send({ token });
const resend = (account: { token: string }) =>
  request(app).post('/api/v1/auth/verify-email/resend').set(bearer(account));
const me = async (account: { token: string }) =>
  (await request(app).get('/api/v1/users/me').set(bearer(account)).expect(200)).body.user;
const tokensOf = (userId: string) =>
  db('account_tokens').where({ user_id: userId, purpose: 'verify-email' }).orderBy('id');

async function registerOn(target: typeof app) {
  const email = uniqueEmail();
  const password = newPassword();
  const { body } = await request(target).post('/api/v1/auth/register').send({ email, password }).expect(201);
  return { email, password, userId: body.user.id as string };
}

describe('verification mail at sign-up', () => {
  test('when an account registers, then one verification link is mailed, only its hash is stored, and the account is unverified', async () => {
    const account = await signUp(app);

    const mails = mailbox.to(account.email, VERIFY);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain('https://app.example.test/verify-email#token=ss_');
    const token = mailbox.tokenFor(account.email, VERIFY);
    const stored = await tokensOf(account.userId);
    expect(stored).toHaveLength(1);
    expect(stored[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(Date.parse(stored[0].expires_at) - Date.now()).toBeGreaterThan(47 * 3_600_000);
    expect((await me(account)).emailVerifiedAt).toBeNull();
  });

  test('when the mailed token is used, then the account is verified and the same token is refused with 410 afterwards', async () => {
    const account = await signUp(app);

    await verify(mailbox.tokenFor(account.email, VERIFY)).expect(204);

    const verifiedAt = (await me(account)).emailVerifiedAt;
    expect(Date.parse(verifiedAt)).toBeGreaterThan(Date.now() - 60_000);
    const again = await verify(mailbox.tokenFor(account.email, VERIFY));
    expect(expectProblem(again, 410).type).toBe('/problems/token-invalid');
    expect((await me(account)).emailVerifiedAt).toBe(verifiedAt);
  });

  test('when the token is unknown, altered or expired, then 410 and the account stays unverified', async () => {
    const account = await signUp(app);
    const token = mailbox.tokenFor(account.email, VERIFY);

    expectProblem(await verify(`${token}x`), 410);
    expectProblem(await verify('ss_no-one-was-ever-given-this'), 410);
    await db('account_tokens')
      .where({ user_id: account.userId })
      .update({ expires_at: db.raw("now() - interval '1 second'") });
    expectProblem(await verify(token), 410);

    expect((await me(account)).emailVerifiedAt).toBeNull();
  });

  test('when the job queue refuses the mail, then the sign-up still succeeds and no token is left counting against the hour', async () => {
    const failing = appWithMailbox(db, {}, async () => {
      throw new Error('the job queue is not running');
    });

    const account = await registerOn(failing.app);

    expect(await tokensOf(account.userId)).toEqual([]);
    const login = await request(failing.app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(200);
    const asked = await request(failing.app).post('/api/v1/auth/verify-email/resend').set(bearer(login.body));
    expect(expectProblem(asked, 503).type).toBe('/problems/service-unavailable');
    expect(await tokensOf(account.userId)).toEqual([]);
  });
});

describe('asking for a new link', () => {
  test('when an unverified account asks again, then links are mailed up to three an hour (sign-up included), then 429 with Retry-After', async () => {
    const account = await signUp(app);

    for (let i = 0; i < 2; i++) {
      const asked = await resend(account).expect(202);
      expect(asked.body).toEqual({ status: 'requested', detail: expect.any(String) });
    }
    const refused = await resend(account);

    expect(expectProblem(refused, 429).type).toBe('/problems/rate-limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(mailbox.to(account.email, VERIFY)).toHaveLength(3);
    expect(await tokensOf(account.userId)).toHaveLength(3);
    // Any link still unused works; the latest is as good as the first.
    await verify(mailbox.tokenFor(account.email, VERIFY)).expect(204);
  });

  test('when a verified account asks for a new link, then 409 conflict and no mail', async () => {
    const account = await signUp(app);
    await verify(mailbox.tokenFor(account.email, VERIFY)).expect(204);

    expect(expectProblem(await resend(account), 409).type).toBe('/problems/conflict');
    expect(mailbox.to(account.email, VERIFY)).toHaveLength(1);
  });

  test('when no session asks for a new link, then 401', async () => {
    expectProblem(await request(app).post('/api/v1/auth/verify-email/resend'), 401);
  });
});

describe('REQUIRE_VERIFIED_EMAIL', () => {
  const login = (target: typeof app, email: string, password: string) =>
    request(target).post('/api/v1/auth/login').send({ email, password });

  test('when verification is required and an unverified account logs in with its password, then 403 email-unverified, no session, and a fresh link is mailed', async () => {
    const account = await registerOn(strict.app);
    const sessions = () => db('auth_sessions').where({ user_id: account.userId });

    const refused = await login(strict.app, account.email.toUpperCase(), account.password);

    expect(expectProblem(refused, 403).type).toBe('/problems/email-unverified');
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect(await sessions()).toEqual([]);
    expect(strict.mailbox.to(account.email, VERIFY)).toHaveLength(2);
  });

  test('when verification is required and the password is wrong, then 401 as for anyone, and no mail', async () => {
    const account = await registerOn(strict.app);

    const refused = await login(strict.app, account.email, newPassword());

    expect(expectProblem(refused, 401).type).toBe('/problems/invalid-credentials');
    expect(strict.mailbox.to(account.email, VERIFY)).toHaveLength(1);
  });

  test('when verification is required and the account used its link, then it logs in', async () => {
    const account = await registerOn(strict.app);
    await verify(strict.mailbox.tokenFor(account.email, VERIFY)).expect(204);

    await login(strict.app, account.email, account.password).expect(200);
  });

  test('when verification is not required (the default), then an unverified account logs in', async () => {
    const account = await registerOn(app);
    await login(app, account.email, account.password).expect(200);
  });

  test('when an unverified account completes a password reset, then its address counts as verified (the reset mail reached it)', async () => {
    const account = await registerOn(strict.app);
    await request(strict.app).post('/api/v1/auth/password-reset').send({ email: account.email }).expect(202);
    // The reset mail is queued after the 202 is sent.
    await waitFor('the reset mail', async () =>
      strict.mailbox.to(account.email, 'Reset your password').length > 0 ? true : undefined,
    );
    const token = strict.mailbox.tokenFor(account.email, 'Reset your password');
    const replacement = newPassword();

    await request(strict.app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token, password: replacement })
      .expect(204);

    await login(strict.app, account.email, replacement).expect(200);
  });
});
