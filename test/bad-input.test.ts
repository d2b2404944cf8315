import request from 'supertest';
import { type Account, bearer, expectProblem, signUp, useTestApp } from './support/harness';

/**
 * Every endpoint that takes input, fed every kind of bad input: each gets its 4xx problem, never a 500,
 * and the data is unchanged afterwards (SEC-10, SEC-15).
 */
const { app, db } = useTestApp();

let account: Account;
let noteId: string;
beforeAll(async () => {
  account = await signUp(app);
  const created = await request(app)
    .post('/api/v1/notes')
    .set(bearer(account))
    .send({ title: 'original', body: 'kept' });
  noteId = created.body.note.id;
});

interface Endpoint {
  name: string;
  method: 'post' | 'patch';
  path: () => string;
  authenticated: boolean;
  valid: () => Record<string, unknown>;
  /** The field to stuff with bad strings. */
  field: string;
  /** Longest allowed value of that field. */
  max: number;
}

const endpoints: Endpoint[] = [
  {
    name: 'register',
    method: 'post',
    path: () => '/api/v1/auth/register',
    authenticated: false,
    valid: () => ({
      email: `bad-input-${Date.now()}@example.test`,
      password: 'long enough password',
      name: 'n',
    }),
    field: 'name',
    max: 100,
  },
  {
    name: 'login',
    method: 'post',
    path: () => '/api/v1/auth/login',
    authenticated: false,
    valid: () => ({ email: account.email, password: 'not the password' }),
    field: 'password',
    max: 128,
  },
  {
    name: 'create note',
    method: 'post',
    path: () => '/api/v1/notes',
    authenticated: true,
    valid: () => ({ title: 'valid', body: 'valid' }),
    field: 'title',
    max: 200,
  },
  {
    name: 'patch note',
    method: 'patch',
    path: () => `/api/v1/notes/${noteId}`,
    authenticated: true,
    valid: () => ({ title: 'valid' }),
    field: 'title',
    max: 200,
  },
];

const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** [case, raw body or object, content type, expected status] */
type Case = [string, (e: Endpoint) => string | object, string, number];
const cases: Case[] = [
  ['malformed JSON', () => '{"title": "unterminated', 'application/json', 400],
  ['a JSON string, not an object', () => '"just a string"', 'application/json', 400],
  ['an empty object', () => ({}), 'application/json', 422],
  ['wrong types', (e) => ({ ...e.valid(), [e.field]: 12345 }), 'application/json', 422],
  ['null for a required field', (e) => ({ ...e.valid(), [e.field]: null }), 'application/json', 422],
  ['an array instead of an object', () => '[1,2,3]', 'application/json', 422],
  ['an unknown field', (e) => ({ ...e.valid(), isAdmin: true }), 'application/json', 422],
  [
    'a __proto__ key',
    (e) => `{"__proto__": {"isAdmin": true}, ${JSON.stringify(e.valid()).slice(1)}`,
    'application/json',
    422,
  ],
  [
    'a constructor key',
    (e) => ({ ...e.valid(), constructor: { prototype: { isAdmin: true } } }),
    'application/json',
    422,
  ],
  ['deep nesting', (e) => `{"${e.field}": ${deep(20_000)}}`, 'application/json', 422],
  [
    'a string over the limit',
    (e) => ({ ...e.valid(), [e.field]: 'x'.repeat(e.max + 1) }),
    'application/json',
    422,
  ],
  ['a body over 100 kB', (e) => ({ ...e.valid(), [e.field]: 'x'.repeat(120_000) }), 'application/json', 413],
  ['a NUL byte', (e) => ({ ...e.valid(), [e.field]: 'nul\u0000byte' }), 'application/json', 422],
  [
    'a lone surrogate',
    (e) => `{${JSON.stringify(e.valid()).slice(1, -1)}, "${e.field}": "\\ud800"}`,
    'application/json',
    422,
  ],
  ['text/plain', (e) => JSON.stringify(e.valid()), 'text/plain', 415],
  ['a form post', () => 'title=x&body=y', 'application/x-www-form-urlencoded', 415],
  [
    'multipart',
    () => '--b\r\nContent-Disposition: form-data; name="t"\r\n\r\nx\r\n--b--',
    'multipart/form-data; boundary=b',
    415,
  ],
  ['JSON in latin1', (e) => JSON.stringify(e.valid()), 'application/json; charset=latin1', 415],
];

async function snapshot() {
  const [users] = await db('users').count({ n: '*' });
  const notes = await db('notes').where({ user_id: account.userId }).orderBy('id');
  return { users: Number(users!.n), notes };
}

describe.each(endpoints)('$name', (endpoint) => {
  test.each(cases)(
    'SEC-10, SEC-15: when the body is %s, then %#: the expected 4xx problem and no change',
    async (_name, make, type, status) => {
      const before = await snapshot();
      const body = make(endpoint);
      const call = request(app)[endpoint.method](endpoint.path()).set('Content-Type', type);
      if (endpoint.authenticated) call.set(bearer(account));
      const response = await call.send(typeof body === 'string' ? body : JSON.stringify(body));
      expectProblem(response, status);
      if (status === 422) expect(response.body.errors.length).toBeGreaterThan(0);
      const after = await snapshot();
      expect(after.notes).toEqual(before.notes);
      if (endpoint.name !== 'register') expect(after.users).toBe(before.users);
    },
  );
});

describe('SEC-10: injection strings are data, not code', () => {
  const nasty = [
    "'; DROP TABLE notes; --",
    "' OR '1'='1",
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe is meant to arrive verbatim
    '${jndi:ldap://x}',
    '\u202Egnp.exe',
    'Zalgo: Z̷̢̛a̶l̸g̵o̷ 🙂 日本語 עברית',
  ];

  test.each(nasty)(
    'when a note holds %p, then it is stored and returned byte for byte as JSON',
    async (value) => {
      const created = await request(app)
        .post('/api/v1/notes')
        .set(bearer(account))
        .send({ title: value, body: value });
      expect(created.status).toBe(201);
      expect(created.headers['content-type']).toMatch(/^application\/json/);
      const read = await request(app).get(created.headers.location!).set(bearer(account)).expect(200);
      expect(read.body.note).toMatchObject({ title: value.trim(), body: value });
      expect(await db.schema.hasTable('notes')).toBe(true);
    },
  );

  test.each(nasty)('when %p is tried as an email at login, then 422 or 401 and no 500', async (value) => {
    const response = await request(app)
      .post('/api/v1/auth/login')
      .send({ email: value, password: 'x'.repeat(12) });
    expect([401, 422]).toContain(response.status);
    expectProblem(response, response.status);
  });
});

describe('bad ids, cursors and query strings', () => {
  test.each([
    'not-a-uuid',
    '1',
    "' OR 1=1 --",
    '00000000-0000-0000-0000-00000000000g',
    '%00',
    '..%2F..%2Fetc%2Fpasswd',
    'a'.repeat(2000),
  ])('when the note id is %p, then 404 for GET, PATCH and DELETE', async (id) => {
    const url = `/api/v1/notes/${id}`;
    for (const method of ['get', 'patch', 'delete'] as const) {
      const response = await request(app)[method](url).set(bearer(account)).send({ title: 'x' });
      expectProblem(response, 404);
    }
  });

  test.each([
    ['limit=0'],
    ['limit=101'],
    ['limit=-1'],
    ['limit=abc'],
    ['limit=1&limit=2'],
    ['limit=99999999999999999999'],
    ['cursor=zzz'],
    [`cursor=${Buffer.from('not a uuid').toString('base64url')}`],
    [`cursor=${'A'.repeat(500)}`],
    ['cursor[$ne]=1'],
    ['sort=title'],
  ])('when the list query is %s, then 422 naming the parameter', async (query) => {
    const response = await request(app).get(`/api/v1/notes?${query}`).set(bearer(account));
    expectProblem(response, 422);
    expect(response.body.errors[0].path).toMatch(/^query\./);
  });
});
