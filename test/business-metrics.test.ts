import request from 'supertest';
import { createApp } from '../src/app';
import { Lifecycle } from '../src/health/lifecycle';
import type { MailMessage } from '../src/mail/mailer';
import { createLogger } from '../src/observability/logger';
import { createMetrics, observeBusinessTotals } from '../src/observability/metrics';
import { bearer, newPassword, signUp, testConfig, uniqueEmail, useTestApp } from './support/harness';
import { logCapture } from './support/log-capture';

const logs = logCapture();
const { lines, sink } = logs;

const { db } = useTestApp();
const config = testConfig();
const metrics = createMetrics({ version: 'test', commit: 'test', environment: 'testing' });
observeBusinessTotals(metrics, db, 0);
const lifecycle = new Lifecycle();
lifecycle.markStarted();
const mailed: MailMessage[] = [];
const app = createApp({
  config,
  db,
  lifecycle,
  metrics,
  logger: createLogger({ level: 'info', pretty: false, destination: sink }),
  sendMail: async (message) => {
    mailed.push(message);
  },
});
/** The token a mail to this address with this subject carries (the last such mail). */
const tokenMailed = (to: string, subject: string) =>
  /token: (ss_[A-Za-z0-9_-]+)/.exec(
    mailed.filter((m) => m.to === to && m.subject === subject).at(-1)?.text ?? '',
  )?.[1];

async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}
const events = (event: string, outcome = 'success') =>
  value('shipshape_business_events_total', { event, outcome });

describe('OBS-13, OBS-14: business metrics and account events', () => {
  test('OBS-13: when users sign up, log in, write notes and erase their account, then each is counted by outcome on the metrics registry', async () => {
    const before = {
      signups: await events('signup'),
      logins: await events('login'),
      failed: await events('login', 'failure'),
      notes: await events('note-created'),
      erasures: await events('erasure'),
    };
    const account = await signUp(app);
    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: newPassword() })
      .expect(401);
    await request(app).post('/api/v1/notes').set(bearer(account)).send({ title: 'counted' }).expect(201);
    await request(app).post('/api/v1/notes').set(bearer(account)).send({ title: 'counted too' }).expect(201);
    await request(app)
      .delete('/api/v1/users/me')
      .set(bearer(account))
      .send({ password: account.password })
      .expect(204);

    expect(await events('signup')).toBe(before.signups + 1);
    expect(await events('login')).toBe(before.logins + 1);
    expect(await events('login', 'failure')).toBe(before.failed + 1);
    expect(await events('note-created')).toBe(before.notes + 2);
    expect(await events('erasure')).toBe(before.erasures + 1);
  });

  test('OBS-13: when users verify their address and change their password and email, then each is counted by outcome', async () => {
    const before = {
      verified: await events('email-verification'),
      passwords: await events('password-change'),
      wrongPasswords: await events('password-change', 'failure'),
      emails: await events('email-change'),
      wrongEmails: await events('email-change', 'failure'),
    };
    const account = await signUp(app);
    const token = tokenMailed(account.email, 'Confirm your email address');
    await request(app).post('/api/v1/auth/verify-email').send({ token }).expect(204);
    const password = newPassword();
    const change = (path: string, body: object) =>
      request(app).post(`/api/v1/users/me/${path}`).set(bearer(account)).send(body);
    await change('password', { currentPassword: newPassword(), newPassword: password }).expect(403);
    await change('password', { currentPassword: account.password, newPassword: password }).expect(204);
    const newEmail = uniqueEmail();
    await change('email', { password: account.password, newEmail }).expect(403);
    await change('email', { password, newEmail }).expect(202);
    await request(app)
      .post('/api/v1/auth/confirm-email-change')
      .send({ token: tokenMailed(newEmail, 'Confirm your new email address') })
      .expect(204);

    expect(await events('email-verification')).toBe(before.verified + 1);
    expect(await events('password-change')).toBe(before.passwords + 1);
    expect(await events('password-change', 'failure')).toBe(before.wrongPasswords + 1);
    expect(await events('email-change')).toBe(before.emails + 1);
    expect(await events('email-change', 'failure')).toBe(before.wrongEmails + 1);
  });

  test('OBS-13: when the registry is scraped, then accounts, live sessions and active users are read from the database', async () => {
    const account = await signUp(app);
    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(200);
    const [users] = await db('users').count({ n: '*' });
    const [live] = await db('auth_sessions')
      .whereNull('revoked_at')
      .where('expires_at', '>', db.fn.now())
      .countDistinct({ sessions: 'id', active: 'user_id' });

    expect(await value('shipshape_accounts')).toBe(Number(users!.n));
    expect(await value('shipshape_active_sessions')).toBe(Number(live!.sessions));
    expect(await value('shipshape_active_users')).toBe(Number(live!.active));
    expect(await value('shipshape_active_sessions')).toBeGreaterThanOrEqual(2);
  });

  test('OBS-14: when logins succeed and fail, then each is logged as an event with the user id or a keyed email reference, never the email', async () => {
    logs.clear();
    const email = uniqueEmail();
    const password = newPassword();
    await request(app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    await request(app).post('/api/v1/auth/login').send({ email, password: newPassword() }).expect(401);
    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: email.toUpperCase(), password: newPassword() })
      .expect(401);
    const ok = await request(app).post('/api/v1/auth/login').send({ email, password }).expect(200);

    const failures = lines.filter((l) => l.event === 'login' && l.outcome === 'failure');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ level: 'warn', emailRef: expect.stringMatching(/^[0-9a-f]{16}$/) });
    // One account, one reference, whatever the capitals: repeated attacks on it can be followed.
    expect(failures[1]!.emailRef).toBe(failures[0]!.emailRef);
    const success = lines.find((l) => l.event === 'login' && l.outcome === 'success');
    expect(success).toMatchObject({ level: 'info', userId: expect.any(String) });
    expect(lines.find((l) => l.event === 'signup')).toMatchObject({ outcome: 'success' });
    expect(logs.raw).not.toContain(email);
    expect(logs.raw.toLowerCase()).not.toContain(email.toLowerCase());
    expect(logs.raw).not.toContain(ok.body.token);
  });
});
