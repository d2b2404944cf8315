import request from 'supertest';
import { type Account, bearer, expectProblem, signUp, useTestApp } from './support/harness';

const { app, db } = useTestApp();

const createNote = (account: Account, note: { title: string; body?: string }) =>
  request(app).post('/api/v1/notes').set(bearer(account)).send(note).expect(201);

describe('notes', () => {
  test('when a note is created, then 201 with Location and the note reads back the same', async () => {
    const account = await signUp(app);
    const created = await createNote(account, { title: 'Groceries', body: 'eggs, milk' });
    expect(created.headers.location).toBe(`/api/v1/notes/${created.body.note.id}`);
    const read = await request(app).get(created.headers.location!).set(bearer(account)).expect(200);
    expect(read.body.note).toEqual(created.body.note);
    expect(read.body.note).toMatchObject({ title: 'Groceries', body: 'eggs, milk' });
  });

  test('when a note is patched, then only the sent fields change', async () => {
    const account = await signUp(app);
    const { body } = await createNote(account, { title: 'Before', body: 'kept' });
    const patched = await request(app)
      .patch(`/api/v1/notes/${body.note.id}`)
      .set(bearer(account))
      .send({ title: 'After' })
      .expect(200);
    expect(patched.body.note).toMatchObject({ id: body.note.id, title: 'After', body: 'kept' });
    expect(Date.parse(patched.body.note.updatedAt)).toBeGreaterThanOrEqual(Date.parse(body.note.updatedAt));
  });

  test('when a note is deleted, then it is gone and a second delete is 404', async () => {
    const account = await signUp(app);
    const { body } = await createNote(account, { title: 'Temporary' });
    await request(app).delete(`/api/v1/notes/${body.note.id}`).set(bearer(account)).expect(204);
    expectProblem(await request(app).get(`/api/v1/notes/${body.note.id}`).set(bearer(account)), 404);
    expectProblem(await request(app).delete(`/api/v1/notes/${body.note.id}`).set(bearer(account)), 404);
  });

  test("SEC-11: when a user reads, changes or deletes another user's note, then 404 and the note is untouched", async () => {
    const [owner, stranger] = [await signUp(app), await signUp(app)];
    const { body } = await createNote(owner, { title: 'Private', body: 'secret' });
    const url = `/api/v1/notes/${body.note.id}`;
    expectProblem(await request(app).get(url).set(bearer(stranger)), 404);
    expectProblem(await request(app).patch(url).set(bearer(stranger)).send({ title: 'pwned' }), 404);
    expectProblem(await request(app).delete(url).set(bearer(stranger)), 404);
    const list = await request(app).get('/api/v1/notes').set(bearer(stranger)).expect(200);
    expect(list.body.items).toEqual([]);
    expect(await db('notes').where({ id: body.note.id }).first()).toMatchObject({
      title: 'Private',
      body: 'secret',
    });
  });

  test('when notes span several pages, then the cursor walks them newest first with no gap or repeat', async () => {
    const account = await signUp(app);
    const titles = Array.from({ length: 7 }, (_, i) => `note ${i}`);
    for (const title of titles) await createNote(account, { title });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string> = { limit: '3', ...(cursor && { cursor }) };
      const page = await request(app).get('/api/v1/notes').query(query).set(bearer(account)).expect(200);
      seen.push(...page.body.items.map((n: { title: string }) => n.title));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...titles].reverse());
  });

  test('when no limit is given, then a page holds 20 notes', async () => {
    const account = await signUp(app);
    await db('notes').insert(
      Array.from({ length: 21 }, (_, i) => ({
        id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
        user_id: account.userId,
        title: `bulk ${i}`,
      })),
    );
    const page = await request(app).get('/api/v1/notes').set(bearer(account)).expect(200);
    expect(page.body.items).toHaveLength(20);
    expect(page.body.nextCursor).toEqual(expect.any(String));
  });

  test('SEC-11: when unauthenticated, then every notes endpoint is 401', async () => {
    const id = '0190a000-0000-7000-8000-000000000000';
    for (const [method, url] of [
      ['get', '/api/v1/notes'],
      ['post', '/api/v1/notes'],
      ['get', `/api/v1/notes/${id}`],
      ['patch', `/api/v1/notes/${id}`],
      ['delete', `/api/v1/notes/${id}`],
    ] as const) {
      expectProblem(await request(app)[method](url).send({ title: 'x' }), 401);
    }
  });
});
