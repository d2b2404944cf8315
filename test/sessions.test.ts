import request from 'supertest';
import { bearer, expectProblem, signUp, useTestApp } from './support/harness';

const { app, db } = useTestApp();

async function loginFrom(account: { email: string; password: string }, userAgent: string) {
  const response = await request(app)
    .post('/api/v1/auth/login')
    .set('User-Agent', userAgent)
    .send({ email: account.email, password: account.password })
    .expect(200);
  return { token: response.body.token as string };
}

describe('my sessions', () => {
  test('when a user logs in from two browsers, then each is listed with its browser, address, times and which is current', async () => {
    const account = await signUp(app);
    const phone = await loginFrom(account, 'Phone Browser/1.0');
    await loginFrom(account, 'Laptop Browser/2.0');

    const response = await request(app).get('/api/v1/users/me/sessions').set(bearer(phone)).expect(200);

    expect(response.body.items).toHaveLength(3);
    const agents = response.body.items.map((s: { userAgent: string }) => s.userAgent);
    expect(agents).toEqual(expect.arrayContaining(['Phone Browser/1.0', 'Laptop Browser/2.0']));
    const current = response.body.items.filter((s: { current: boolean }) => s.current);
    expect(current).toEqual([
      {
        id: expect.any(String),
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
        expiresAt: expect.any(String),
        userAgent: 'Phone Browser/1.0',
        address: expect.stringMatching(/127\.0\.0\.1|::1/),
        current: true,
      },
    ]);
    expect(JSON.stringify(response.body)).not.toContain(phone.token);
  });

  test('when a user revokes another of their sessions, then that token stops working and the others keep working', async () => {
    const account = await signUp(app);
    const laptop = await loginFrom(account, 'Laptop');
    const lost = await loginFrom(account, 'Lost phone');
    const listed = await request(app).get('/api/v1/users/me/sessions').set(bearer(laptop)).expect(200);
    const lostId = listed.body.items.find((s: { userAgent: string }) => s.userAgent === 'Lost phone').id;

    await request(app).delete(`/api/v1/users/me/sessions/${lostId}`).set(bearer(laptop)).expect(204);

    expectProblem(await request(app).get('/api/v1/users/me').set(bearer(lost)), 401);
    await request(app).get('/api/v1/users/me').set(bearer(laptop)).expect(200);
    await request(app).get('/api/v1/users/me').set(bearer(account)).expect(200);
    expectProblem(await request(app).delete(`/api/v1/users/me/sessions/${lostId}`).set(bearer(laptop)), 404);
  });

  test("when a user tries to revoke another user's session, then 404 and that session still works", async () => {
    const mallory = await signUp(app);
    const victim = await signUp(app);
    const [victimSession] = await db('auth_sessions').where({ user_id: victim.userId }).pluck('id');
    const response = await request(app)
      .delete(`/api/v1/users/me/sessions/${victimSession}`)
      .set(bearer(mallory));
    expectProblem(response, 404);
    await request(app).get('/api/v1/users/me').set(bearer(victim)).expect(200);
  });

  test('when a user logs out everywhere else, then every other session is revoked and this one stays', async () => {
    const account = await signUp(app);
    const others = [await loginFrom(account, 'A'), await loginFrom(account, 'B')];
    const here = await loginFrom(account, 'Here');

    await request(app).delete('/api/v1/users/me/sessions').set(bearer(here)).expect(204);

    for (const other of [...others, account])
      expectProblem(await request(app).get('/api/v1/users/me').set(bearer(other)), 401);
    const listed = await request(app).get('/api/v1/users/me/sessions').set(bearer(here)).expect(200);
    expect(listed.body.items.map((s: { userAgent: string }) => s.userAgent)).toEqual(['Here']);
  });

  test('when a session id is malformed or the caller is anonymous, then a 4xx problem and nothing is revoked', async () => {
    const account = await signUp(app);
    expectProblem(
      await request(app).delete('/api/v1/users/me/sessions/not-a-uuid').set(bearer(account)),
      404,
    );
    expectProblem(await request(app).get('/api/v1/users/me/sessions'), 401);
    expectProblem(await request(app).delete('/api/v1/users/me/sessions'), 401);
    await request(app).get('/api/v1/users/me').set(bearer(account)).expect(200);
  });
});
