import request from 'supertest';
import { hashToken } from '../src/features/accounts/tokens';
import { bearer, expectProblem, newPassword, signUp, uniqueEmail, useTestApp } from './support/harness';

const { app, db } = useTestApp();
const closed = useTestApp({ FEATURE_REGISTRATION: 'false' });
const staging = useTestApp({
  APP_ENV: 'staging',
  SECRET_KEY: newPassword() + newPassword(),
  TRUST_PROXY: '1',
  LOG_LEVEL: 'silent',
});

describe('registration', () => {
  test('SEC-9: when a new email registers, then 201 returns the public user and never the password', async () => {
    const email = uniqueEmail();
    const response = await request(app)
      .post('/api/v1/auth/register')
      .send({ email: email.toUpperCase(), password: newPassword(), name: 'Ada' })
      .expect(201);
    expect(response.body).toEqual({
      user: {
        id: expect.any(String),
        email,
        name: 'Ada',
        createdAt: expect.any(String),
        emailVerifiedAt: null,
      },
    });
    const row = await db('users').where({ email }).first();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });

  test('when the email is already registered (in any case), then 409 and the first account is kept', async () => {
    const email = uniqueEmail();
    await request(app).post('/api/v1/auth/register').send({ email, password: newPassword() }).expect(201);
    const again = await request(app)
      .post('/api/v1/auth/register')
      .send({ email: email.toUpperCase(), password: newPassword() });
    expectProblem(again, 409);
    expect(Number((await db('users').where({ email }).count({ n: '*' }))[0]!.n)).toBe(1);
  });

  test('CFG-8: when registration is switched off by its feature flag, then 403 and nothing is created', async () => {
    const email = uniqueEmail();
    const response = await request(closed.app)
      .post('/api/v1/auth/register')
      .send({ email, password: newPassword() });
    expect(expectProblem(response, 403).type).toBe('/problems/registration-closed');
    expect(await db('users').where({ email }).first()).toBeUndefined();
  });
});

describe('login', () => {
  test('SEC-7: when the credentials are right, then a 256-bit bearer token, its expiry and a hardened cookie', async () => {
    const email = uniqueEmail();
    const password = newPassword();
    await request(app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    const response = await request(app).post('/api/v1/auth/login').send({ email, password }).expect(200);
    expect(response.body).toEqual({
      token: expect.stringMatching(/^ss_[A-Za-z0-9_-]{43}$/),
      tokenType: 'Bearer',
      expiresAt: expect.any(String),
      csrfToken: expect.any(String),
    });
    expect(Date.parse(response.body.expiresAt)).toBeGreaterThan(Date.now());
    const session = (response.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith('session='),
    );
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/Secure/);
    expect(session).toMatch(/SameSite=Lax/);
    const stored = await db('auth_sessions')
      .where({ token_hash: hashToken(response.body.token) })
      .first();
    expect(stored).toBeDefined();
    expect(JSON.stringify(await db('auth_sessions').where({ user_id: stored.user_id }))).not.toContain(
      response.body.token,
    );
  });

  test('when the email is unknown or the password wrong, then the same 401 body either way', async () => {
    const account = await signUp(app);
    const wrongPassword = await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: newPassword() });
    const unknownEmail = await request(app)
      .post('/api/v1/auth/login')
      .send({ email: uniqueEmail(), password: newPassword() });
    const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });
    expect(strip(expectProblem(wrongPassword, 401))).toEqual(strip(expectProblem(unknownEmail, 401)));
  });

  test('SEC-7: when staging serves the cookie, then it carries the __Host- prefix', async () => {
    const email = uniqueEmail();
    const password = newPassword();
    await request(staging.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    const response = await request(staging.app)
      .post('/api/v1/auth/login')
      .send({ email, password })
      .expect(200);
    const cookies = response.headers['set-cookie'] as unknown as string[];
    expect(cookies.some((c) => /^__Host-session=.*; Path=\/;.*HttpOnly; Secure; SameSite=Lax/.test(c))).toBe(
      true,
    );
    expect(response.headers['strict-transport-security']).toMatch(/max-age=63072000/);
  });
});

describe('SEC-11: sessions', () => {
  test('when a bearer token is sent, then /users/me answers with its user', async () => {
    const account = await signUp(app);
    const response = await request(app).get('/api/v1/users/me').set(bearer(account)).expect(200);
    expect(response.body.user).toMatchObject({ id: account.userId, email: account.email });
  });

  test('when there is no token, a garbled one or an unknown one, then 401', async () => {
    for (const authorization of [
      undefined,
      'Bearer',
      'Bearer ss_nope',
      'Basic dXNlcjpwYXNz',
      `Bearer ${'x'.repeat(500)}`,
    ]) {
      const call = request(app).get('/api/v1/users/me');
      if (authorization) call.set('Authorization', authorization);
      expectProblem(await call, 401);
    }
  });

  test('when the session has expired, then its token gets 401', async () => {
    const account = await signUp(app);
    await db('auth_sessions')
      .where({ token_hash: hashToken(account.token) })
      .update({ expires_at: new Date(Date.now() - 1000) });
    expectProblem(await request(app).get('/api/v1/users/me').set(bearer(account)), 401);
  });

  test('when a user logs out, then the token is revoked and another session stays valid', async () => {
    const account = await signUp(app);
    const other = await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: account.password });
    await request(app).post('/api/v1/auth/logout').set(bearer(account)).expect(204);
    expectProblem(await request(app).get('/api/v1/users/me').set(bearer(account)), 401);
    expectProblem(await request(app).post('/api/v1/auth/logout').set(bearer(account)), 401);
    await request(app).get('/api/v1/users/me').set('Authorization', `Bearer ${other.body.token}`).expect(200);
  });
});

describe('SEC-6: cookie sessions and CSRF', () => {
  test('when the session cookie is sent on a safe request, then it authenticates without a CSRF token', async () => {
    const account = await signUp(app);
    await request(app).get('/api/v1/users/me').set('Cookie', account.cookies.join('; ')).expect(200);
  });

  test('when a cookie-authenticated unsafe request lacks the CSRF token, then 403 and nothing is written', async () => {
    const account = await signUp(app);
    const response = await request(app)
      .post('/api/v1/notes')
      .set('Cookie', account.cookies.join('; '))
      .send({ title: 'forged' });
    expect(expectProblem(response, 403).type).toBe('/problems/csrf-rejected');
    expect(await db('notes').where({ user_id: account.userId }).first()).toBeUndefined();
  });

  test('when the CSRF token belongs to another session, then 403', async () => {
    const [victim, attacker] = [await signUp(app), await signUp(app)];
    const response = await request(app)
      .post('/api/v1/notes')
      .set('Cookie', victim.cookies.join('; '))
      .set('X-CSRF-Token', attacker.csrfToken)
      .send({ title: 'forged' });
    expectProblem(response, 403);
  });

  test('when a foreign origin sends the cookie with a valid token, then 403', async () => {
    const account = await signUp(app);
    const response = await request(app)
      .post('/api/v1/notes')
      .set('Cookie', account.cookies.join('; '))
      .set('X-CSRF-Token', account.csrfToken)
      .set('Origin', 'https://evil.example')
      .send({ title: 'forged' });
    expectProblem(response, 403);
  });

  test('when the cookie comes with its CSRF token from no foreign origin, then the write succeeds', async () => {
    const account = await signUp(app);
    await request(app)
      .post('/api/v1/notes')
      .set('Cookie', account.cookies.join('; '))
      .set('X-CSRF-Token', account.csrfToken)
      .set('Sec-Fetch-Site', 'same-origin')
      .send({ title: 'mine' })
      .expect(201);
  });

  test('when a bearer request comes from any origin, then no CSRF token is needed', async () => {
    const account = await signUp(app);
    await request(app)
      .post('/api/v1/notes')
      .set(bearer(account))
      .set('Origin', 'https://elsewhere.example')
      .send({ title: 'api client' })
      .expect(201);
  });

  test('when a cookie session logs out, then the cookie no longer authenticates', async () => {
    const account = await signUp(app);
    const cookie = account.cookies.join('; ');
    await request(app)
      .post('/api/v1/auth/logout')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', account.csrfToken)
      .expect(204);
    expectProblem(await request(app).get('/api/v1/users/me').set('Cookie', cookie), 401);
  });
});
