import request from 'supertest';
import { bearer, expectProblem, newPassword, signUp, useTestApp } from './support/harness';

const { app, db } = useTestApp();
const limited = useTestApp({ AUTH_RATE_LIMIT_MAX: '3' });

async function writeNotes(account: Awaited<ReturnType<typeof signUp>>, titles: string[]) {
  for (const title of titles)
    await request(app)
      .post('/api/v1/notes')
      .set(bearer(account))
      .send({ title, body: `${title} body` })
      .expect(201);
}

const rowsOf = async (userId: string) => ({
  users: Number((await db('users').where({ id: userId }).count({ n: '*' }))[0]!.n),
  notes: Number((await db('notes').where({ user_id: userId }).count({ n: '*' }))[0]!.n),
  sessions: Number((await db('auth_sessions').where({ user_id: userId }).count({ n: '*' }))[0]!.n),
});

describe('SEC-17: data export and erasure', () => {
  test('SEC-17: when a user asks for an export, then it holds their account, every note and every session, and nothing of others or any secret', async () => {
    const account = await signUp(app);
    const other = await signUp(app);
    await writeNotes(account, ['first', 'second', 'third']);
    await writeNotes(other, ['not mine']);
    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(200);

    const response = await request(app).get('/api/v1/users/me/export').set(bearer(account)).expect(200);

    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="?shipshape-export.json"?$/,
    );
    expect(response.headers['cache-control']).toMatch(/no-store/);
    expect(response.body.user).toEqual({
      id: account.userId,
      email: account.email,
      name: null,
      createdAt: expect.any(String),
      emailVerifiedAt: null,
    });
    expect(response.body.notes.map((n: { title: string }) => n.title)).toEqual(['first', 'second', 'third']);
    expect(response.body.notes[0]).toEqual({
      id: expect.any(String),
      title: 'first',
      body: 'first body',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(response.body.sessions).toHaveLength(2);
    expect(response.body.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const text = JSON.stringify(response.body);
    expect(text).not.toContain('not mine');
    expect(text).not.toContain(account.token);
    expect(text).not.toMatch(/password|token_hash|argon2/i);
  });

  test('SEC-17: when a user erases their account with the password, then the account, its notes and sessions are gone and the token no longer works', async () => {
    const account = await signUp(app);
    const other = await signUp(app);
    await writeNotes(account, ['a', 'b']);
    await writeNotes(other, ['kept']);
    expect(await rowsOf(account.userId)).toEqual({ users: 1, notes: 2, sessions: 1 });

    const response = await request(app)
      .delete('/api/v1/users/me')
      .set(bearer(account))
      .send({ password: account.password })
      .expect(204);

    expect(await rowsOf(account.userId)).toEqual({ users: 0, notes: 0, sessions: 0 });
    expect(await rowsOf(other.userId)).toEqual({ users: 1, notes: 1, sessions: 1 });
    const cleared = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
    expect(cleared.some((c) => /^session=;/.test(c) && /Expires=Thu, 01 Jan 1970/.test(c))).toBe(true);
    expectProblem(await request(app).get('/api/v1/users/me').set(bearer(account)), 401);
    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(401);
  });

  test('when the password is wrong, then 403 password-incorrect and nothing is erased', async () => {
    const account = await signUp(app);
    await writeNotes(account, ['stays']);
    const response = await request(app)
      .delete('/api/v1/users/me')
      .set(bearer(account))
      .send({ password: newPassword() });
    expect(expectProblem(response, 403).type).toBe('/problems/password-incorrect');
    expect(await rowsOf(account.userId)).toEqual({ users: 1, notes: 1, sessions: 1 });
  });

  test('when the erasure has no password, an unknown field or no session, then a 4xx problem and nothing is erased', async () => {
    const account = await signUp(app);
    expectProblem(await request(app).delete('/api/v1/users/me').set(bearer(account)).send({}), 422);
    expectProblem(
      await request(app)
        .delete('/api/v1/users/me')
        .set(bearer(account))
        .send({ password: account.password, force: true }),
      422,
    );
    expectProblem(await request(app).delete('/api/v1/users/me').send({ password: account.password }), 401);
    expect(await rowsOf(account.userId)).toEqual({ users: 1, notes: 0, sessions: 1 });
  });

  test('when the erasure comes from the session cookie without the CSRF token, then 403 csrf-rejected and nothing is erased', async () => {
    const account = await signUp(app);
    const response = await request(app)
      .delete('/api/v1/users/me')
      .set('Cookie', account.cookies.join('; '))
      .send({ password: account.password });
    expect(expectProblem(response, 403).type).toBe('/problems/csrf-rejected');
    expect((await rowsOf(account.userId)).users).toBe(1);
  });

  test('SEC-2: when a stolen session guesses the password to erase, then the auth rate limit stops it with 429', async () => {
    const account = await signUp(limited.app);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await request(limited.app)
        .delete('/api/v1/users/me')
        .set(bearer(account))
        .send({ password: newPassword() });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([403, 403, 403, 429]);
    expect((await rowsOf(account.userId)).users).toBe(1);
  });
});
