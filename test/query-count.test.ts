import request from 'supertest';
import { bearer, signUp, useTestApp } from './support/harness';

/** Each endpoint does a bounded number of queries whatever the data size: no N+1. */
const { app, db } = useTestApp();
let queries = 0;
db.on('query', () => {
  queries++;
});

async function countQueries(call: () => Promise<unknown>): Promise<number> {
  queries = 0;
  await call();
  return queries;
}

test('DB-7: when each endpoint is called, then it runs a fixed, small number of queries', async () => {
  const account = await signUp(app);
  const auth = bearer(account);
  for (let i = 0; i < 25; i++)
    await request(app)
      .post('/api/v1/notes')
      .set(auth)
      .send({ title: `n${i}` });
  const { body } = await request(app).get('/api/v1/notes?limit=1').set(auth);
  const id = body.items[0].id;

  const counts = {
    register: await countQueries(() =>
      request(app)
        .post('/api/v1/auth/register')
        .send({ email: `q-${Date.now()}@example.test`, password: 'twelve chars!' }),
    ),
    login: await countQueries(() =>
      request(app).post('/api/v1/auth/login').send({ email: account.email, password: account.password }),
    ),
    me: await countQueries(() => request(app).get('/api/v1/users/me').set(auth)),
    'list 20': await countQueries(() => request(app).get('/api/v1/notes').set(auth).expect(200)),
    'list 100': await countQueries(() => request(app).get('/api/v1/notes?limit=100').set(auth).expect(200)),
    create: await countQueries(() =>
      request(app).post('/api/v1/notes').set(auth).send({ title: 'x' }).expect(201),
    ),
    read: await countQueries(() => request(app).get(`/api/v1/notes/${id}`).set(auth).expect(200)),
    patch: await countQueries(() =>
      request(app).patch(`/api/v1/notes/${id}`).set(auth).send({ body: 'y' }).expect(200),
    ),
    delete: await countQueries(() => request(app).delete(`/api/v1/notes/${id}`).set(auth).expect(204)),
    logout: await countQueries(() => request(app).post('/api/v1/auth/logout').set(auth).expect(204)),
  };
  expect(counts).toEqual({
    register: 1,
    login: 2,
    me: 1,
    'list 20': 2,
    'list 100': 2,
    create: 2,
    read: 2,
    patch: 2,
    delete: 2,
    logout: 2,
  });
});
