import request from 'supertest';
import { setRole } from '../src/features/admin/repository';
import { bearer, expectProblem, signUp, testDatabaseUrl, useTestApp } from './support/harness';
import { runScript } from './support/processes';

const { app, db } = useTestApp();

async function signUpAdmin() {
  const account = await signUp(app);
  await setRole(db, account.email, 'admin');
  return account;
}

describe('roles and the admin endpoints', () => {
  test('when a user without the admin role calls an admin endpoint, then 403 forbidden and nothing changes', async () => {
    const user = await signUp(app);
    const target = await signUp(app);
    expect(expectProblem(await request(app).get('/api/v1/admin/users').set(bearer(user)), 403).type).toBe(
      '/problems/forbidden',
    );
    const patch = await request(app)
      .patch(`/api/v1/admin/users/${target.userId}`)
      .set(bearer(user))
      .send({ disabled: true });
    expect(expectProblem(patch, 403).type).toBe('/problems/forbidden');
    await request(app).get('/api/v1/users/me').set(bearer(target)).expect(200);
    expectProblem(await request(app).get('/api/v1/admin/users'), 401);
  });

  test('when an admin lists users, then every account is reachable page by page, oldest first, without password hashes', async () => {
    const admin = await signUpAdmin();
    const others = [await signUp(app), await signUp(app), await signUp(app)];
    const seen: { id: string; email: string; role: string }[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await request(app)
        .get('/api/v1/admin/users')
        .query(cursor ? { limit: 50, cursor } : { limit: 50 })
        .set(bearer(admin))
        .expect(200);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    const ids = new Set(seen.map((u) => u.id));
    for (const account of [admin, ...others]) expect(ids.has(account.userId)).toBe(true);
    expect(ids.size).toBe(seen.length);
    expect(seen.map((u) => u.id)).toEqual([...seen.map((u) => u.id)].sort());
    expect(seen.find((u) => u.email === admin.email)?.role).toBe('admin');
    expect(JSON.stringify(seen)).not.toMatch(/argon2|password/);
  });

  test('when an admin lists users, then each shows whether and when its email was verified', async () => {
    const admin = await signUpAdmin();
    const unverified = await signUp(app);
    const verified = await signUp(app);
    await db('users').where({ id: verified.userId }).update({ email_verified_at: db.fn.now() });
    const listed = new Map<string, { emailVerifiedAt: string | null }>();
    let cursor: string | null = null;
    do {
      const page: request.Response = await request(app)
        .get('/api/v1/admin/users')
        .query(cursor ? { limit: 100, cursor } : { limit: 100 })
        .set(bearer(admin))
        .expect(200);
      for (const user of page.body.items) listed.set(user.id, user);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(listed.get(unverified.userId)?.emailVerifiedAt).toBeNull();
    expect(Date.parse(listed.get(verified.userId)?.emailVerifiedAt ?? '')).toBeGreaterThan(
      Date.now() - 60_000,
    );
  });

  test('when an admin disables a user, then every session of that user is revoked at once and they cannot log in until enabled again', async () => {
    const admin = await signUpAdmin();
    const user = await signUp(app);

    const disabled = await request(app)
      .patch(`/api/v1/admin/users/${user.userId}`)
      .set(bearer(admin))
      .send({ disabled: true })
      .expect(200);

    expect(disabled.body.user).toMatchObject({ id: user.userId, disabledAt: expect.any(String) });
    expectProblem(await request(app).get('/api/v1/users/me').set(bearer(user)), 401);
    const login = await request(app)
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password });
    expect(expectProblem(login, 403).type).toBe('/problems/account-disabled');
    expect(
      await db('auth_sessions').where({ user_id: user.userId }).whereNull('revoked_at').first(),
    ).toBeUndefined();

    await request(app)
      .patch(`/api/v1/admin/users/${user.userId}`)
      .set(bearer(admin))
      .send({ disabled: false })
      .expect(200);
    await request(app)
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password })
      .expect(200);
  });

  test('when an admin would disable their own account, an unknown id or send a bad body, then a 4xx problem and nothing changes', async () => {
    const admin = await signUpAdmin();
    const self = await request(app)
      .patch(`/api/v1/admin/users/${admin.userId}`)
      .set(bearer(admin))
      .send({ disabled: true });
    expectProblem(self, 409);
    const unknown = '01900000-0000-7000-8000-000000000000';
    expectProblem(
      await request(app).patch(`/api/v1/admin/users/${unknown}`).set(bearer(admin)).send({ disabled: true }),
      404,
    );
    expectProblem(
      await request(app)
        .patch(`/api/v1/admin/users/${admin.userId}`)
        .set(bearer(admin))
        .send({ disabled: 'yes' }),
      422,
    );
    expectProblem(
      await request(app)
        .patch(`/api/v1/admin/users/${admin.userId}`)
        .set(bearer(admin))
        .send({ role: 'admin' }),
      422,
    );
    await request(app).get('/api/v1/users/me').set(bearer(admin)).expect(200);
  });

  test('when the admin CLI grants and revokes the role, then the user gains and loses access to the admin endpoints', async () => {
    const user = await signUp(app);
    const env = { APP_ENV: 'testing', DATABASE_URL: testDatabaseUrl() };

    const granted = await runScript('src/cli/admin.ts', ['grant', user.email.toUpperCase()], env);
    expect(granted.stdout.trim()).toBe(`${user.email.toUpperCase()} is now an admin`);
    await request(app).get('/api/v1/admin/users').set(bearer(user)).expect(200);

    const revoked = await runScript('src/cli/admin.ts', ['revoke', user.email], env);
    expect(revoked.status).toBe(0);
    expectProblem(await request(app).get('/api/v1/admin/users').set(bearer(user)), 403);

    const unknown = await runScript('src/cli/admin.ts', ['grant', 'nobody@example.test'], env);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no account has the email nobody@example.test');
    expect((await runScript('src/cli/admin.ts', ['promote'], env)).status).toBe(64);
  });
});
