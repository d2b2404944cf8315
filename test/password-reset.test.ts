import request from 'supertest';
import { createApp } from '../src/app';
import { Lifecycle } from '../src/health/lifecycle';
import type { MailMessage } from '../src/mail/mailer';
import { createLogger } from '../src/observability/logger';
import {
  bearer,
  expectProblem,
  newPassword,
  signUp,
  testConfig,
  uniqueEmail,
  useTestApp,
} from './support/harness';
import { waitFor } from './support/waiting';

const { db } = useTestApp();
const mails: { message: MailMessage; key: string }[] = [];
const lifecycle = new Lifecycle();
lifecycle.markStarted();
const app = createApp({
  config: testConfig({ APP_URL: 'https://app.example.test' }),
  db,
  lifecycle,
  logger: createLogger({ level: 'silent', pretty: false }),
  sendMail: async (message, key) => {
    mails.push({ message, key });
  },
});

const requestReset = (email: string) => request(app).post('/api/v1/auth/password-reset').send({ email });
/** Sign-up queues a verification mail to the same address: only reset mails count here. */
const isReset = (m: { message: MailMessage }, email: string) =>
  m.message.to === email && m.message.subject === 'Reset your password';
const mailTo = (email: string) =>
  waitFor(`the reset mail to ${email}`, async () => mails.find((m) => isReset(m, email)));
const tokenIn = (message: MailMessage) => /#token=(ss_[A-Za-z0-9_-]+)/.exec(message.text)?.[1] ?? '';

describe('password reset', () => {
  test('when an account asks for a reset, then the answer is the same as for an unknown email, and only the account gets a mail', async () => {
    const account = await signUp(app);
    const unknown = uniqueEmail();

    const known = await requestReset(account.email.toUpperCase()).expect(202);
    const nobody = await requestReset(unknown).expect(202);

    expect(known.body).toEqual(nobody.body);
    const mail = await mailTo(account.email);
    expect(mail.message.text).toContain('https://app.example.test/reset-password#token=ss_');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(mails.some((m) => m.message.to === unknown)).toBe(false);
    const stored = await db('account_tokens')
      .where({ user_id: account.userId, purpose: 'password-reset' })
      .first('token_hash');
    expect(mail.message.text).not.toContain(stored.token_hash);
  });

  test('when the mailed token is used, then the password changes, every session ends, and the token cannot be used again', async () => {
    const account = await signUp(app);
    await requestReset(account.email).expect(202);
    const token = tokenIn((await mailTo(account.email)).message);
    const replacement = newPassword();

    await request(app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token, password: replacement })
      .expect(204);

    expectProblem(await request(app).get('/api/v1/users/me').set(bearer(account)), 401);
    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(401);
    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: replacement })
      .expect(200);
    const again = await request(app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token, password: newPassword() });
    expect(expectProblem(again, 410).type).toBe('/problems/token-invalid');
  });

  test('when the token is expired, unknown or the new password too short, then a 4xx problem and the password stays', async () => {
    const account = await signUp(app);
    await requestReset(account.email).expect(202);
    const token = tokenIn((await mailTo(account.email)).message);

    expectProblem(
      await request(app).post('/api/v1/auth/password-reset/confirm').send({ token, password: 'short' }),
      422,
    );
    expectProblem(
      await request(app)
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token: `${token}x`, password: newPassword() }),
      410,
    );
    await db('account_tokens')
      .where({ user_id: account.userId, purpose: 'password-reset' })
      .update({ expires_at: db.raw("now() - interval '1 second'") });
    expectProblem(
      await request(app).post('/api/v1/auth/password-reset/confirm').send({ token, password: newPassword() }),
      410,
    );

    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(200);
  });

  test('when resets for one account are asked from many addresses, then at most three mails an hour reach it', async () => {
    const account = await signUp(app);
    const sent = () => mails.filter((m) => isReset(m, account.email)).length;
    for (let i = 0; i < 5; i++) {
      await requestReset(account.email)
        .set('X-Forwarded-For', `198.51.100.${i + 1}`)
        .expect(202);
      // Each mail is queued after the answer: wait for it, so the count the next request sees is settled.
      if (i < 3) await waitFor(`reset mail ${i + 1}`, async () => sent() === i + 1 || undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sent()).toBe(3);
    expect(
      Number(
        (
          await db('account_tokens')
            .where({ user_id: account.userId, purpose: 'password-reset' })
            .count({ n: '*' })
        )[0]!.n,
      ),
    ).toBe(3);
  });
});
