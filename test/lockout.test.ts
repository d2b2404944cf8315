import request from 'supertest';
import { createApp } from '../src/app';
import { Lifecycle } from '../src/health/lifecycle';
import type { MailMessage } from '../src/mail/mailer';
import { createLogger } from '../src/observability/logger';
import { expectProblem, newPassword, signUp, testConfig, useTestApp } from './support/harness';

const { app, db } = useTestApp({
  LOGIN_LOCKOUT_THRESHOLD: '3',
  LOGIN_LOCKOUT_MINUTES: '15',
  TRUST_PROXY: '1',
});

const login = (email: string, password: string, from = '127.0.0.1') =>
  request(app).post('/api/v1/auth/login').set('X-Forwarded-For', from).send({ email, password });

describe('brute force on one account', () => {
  test('when an account fails its threshold of logins in a row from many addresses, then it is locked: even the right password gets 429 with Retry-After', async () => {
    const account = await signUp(app);
    for (const address of ['203.0.113.1', '203.0.113.2'])
      expectProblem(await login(account.email, newPassword(), address), 401);
    expectProblem(await login(account.email, newPassword(), '203.0.113.3'), 401);

    const locked = await login(account.email, account.password, '198.51.100.7');

    expect(expectProblem(locked, 429).type).toBe('/problems/account-locked');
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    const row = await db('users').where({ id: account.userId }).first('locked_until', 'failed_logins');
    expect(Date.parse(row.locked_until)).toBeGreaterThan(Date.now());
  });

  test('when the lock has ended, then the right password logs in and the count starts again', async () => {
    const account = await signUp(app);
    for (let i = 0; i < 3; i++) await login(account.email, newPassword());
    await db('users')
      .where({ id: account.userId })
      .update({ locked_until: db.raw("now() - interval '1 second'") });

    await login(account.email, account.password).expect(200);

    const row = await db('users').where({ id: account.userId }).first('locked_until', 'failed_logins');
    expect(row).toEqual({ locked_until: null, failed_logins: 0 });
  });

  test('when failures are broken by a successful login, then they do not add up to a lock', async () => {
    const account = await signUp(app);
    for (let round = 0; round < 3; round++) {
      expectProblem(await login(account.email, newPassword()), 401);
      expectProblem(await login(account.email, newPassword()), 401);
      await login(account.email, account.password).expect(200);
    }
  });

  test('when one account is locked, then another account logs in from the same address', async () => {
    const victim = await signUp(app);
    const other = await signUp(app);
    for (let i = 0; i < 3; i++) await login(victim.email, newPassword());
    expectProblem(await login(victim.email, victim.password), 429);
    await login(other.email, other.password).expect(200);
  });
});

describe('the owner is told', () => {
  const queued: { message: MailMessage; key: string }[] = [];
  const lifecycle = new Lifecycle();
  lifecycle.markStarted();
  const told = createApp({
    config: testConfig({ LOGIN_LOCKOUT_THRESHOLD: '3' }),
    db,
    lifecycle,
    logger: createLogger({ level: 'silent', pretty: false }),
    sendMail: async (message, key) => {
      queued.push({ message, key });
    },
  });

  test('when failed logins lock an account, then a mail to its owner is queued once, saying until when', async () => {
    const account = await signUp(told);
    for (let i = 0; i < 3; i++)
      await request(told).post('/api/v1/auth/login').send({ email: account.email, password: newPassword() });
    await request(told)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(429);

    // Sign-up queued a verification mail to the same address: only lockout mails count here.
    const mine = queued.filter((q) => q.message.to === account.email && q.key.startsWith('lockout-'));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.message.subject).toMatch(/locked/);
    const { locked_until } = await db('users').where({ id: account.userId }).first('locked_until');
    expect(mine[0]!.message.text).toContain(String(locked_until));
    expect(mine[0]!.key).toBe(`lockout-${account.userId}-${locked_until}`);
  });
});
