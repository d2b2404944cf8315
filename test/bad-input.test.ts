import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { setRole } from '../src/features/admin/repository';
import {
  type Account,
  bearer,
  expectProblem,
  newPassword,
  signUp,
  uniqueEmail,
  useTestApp,
} from './support/harness';
import { listen, type RawResponse, rawExchange } from './support/raw-http';

/**
 * Every endpoint that takes input, fed every kind of bad input: each gets its 4xx problem, never a 500,
 * and the data is unchanged afterwards (SEC-10, SEC-15).
 */
const built = useTestApp();
const { app, db } = built;

let account: Account;
let noteId: string;
let otherUserId: string;
beforeAll(async () => {
  account = await signUp(app);
  // An admin, so the admin endpoints reach validation rather than stopping at the role check.
  await setRole(db, account.email, 'admin');
  otherUserId = (await signUp(app)).userId;
  const created = await request(app)
    .post('/api/v1/notes')
    .set(bearer(account))
    .send({ title: 'original', body: 'kept' });
  noteId = created.body.note.id;
});

interface Endpoint {
  name: string;
  method: 'post' | 'patch' | 'delete';
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
  {
    name: 'request a password reset',
    method: 'post',
    path: () => '/api/v1/auth/password-reset',
    authenticated: false,
    valid: () => ({ email: 'nobody-here@example.test' }),
    field: 'email',
    max: 254,
  },
  {
    name: 'confirm a password reset',
    method: 'post',
    path: () => '/api/v1/auth/password-reset/confirm',
    authenticated: false,
    // A token no one was issued: even a body the schema accepts changes nothing.
    valid: () => ({ token: 'ss_not-a-token-anyone-was-given', password: 'a long enough password' }),
    field: 'password',
    max: 128,
  },
  {
    name: 'verify an email',
    method: 'post',
    path: () => '/api/v1/auth/verify-email',
    authenticated: false,
    // A token no one was issued: even a body the schema accepts changes nothing.
    valid: () => ({ token: 'ss_not-a-token-anyone-was-given' }),
    field: 'token',
    max: 200,
  },
  {
    name: 'change the password',
    method: 'post',
    path: () => '/api/v1/users/me/password',
    authenticated: true,
    // A wrong current password: even a body the schema accepts must leave the password as it is.
    valid: () => ({ currentPassword: 'not the password', newPassword: 'a long enough password' }),
    field: 'newPassword',
    max: 128,
  },
  {
    name: 'change the email',
    method: 'post',
    path: () => '/api/v1/users/me/email',
    authenticated: true,
    valid: () => ({ password: 'not the password', newEmail: 'bad-input-new@example.test' }),
    field: 'newEmail',
    max: 254,
  },
  {
    name: 'confirm an email change',
    method: 'post',
    path: () => '/api/v1/auth/confirm-email-change',
    authenticated: false,
    valid: () => ({ token: 'ss_not-a-token-anyone-was-given' }),
    field: 'token',
    max: 200,
  },
  {
    name: 'disable a user (admin)',
    method: 'patch',
    path: () => `/api/v1/admin/users/${otherUserId}`,
    authenticated: true,
    valid: () => ({ disabled: false }),
    field: 'disabled',
    max: 0,
  },
  {
    name: 'erase account',
    method: 'delete',
    path: () => '/api/v1/users/me',
    authenticated: true,
    // A wrong password: even a body the schema accepts must leave the account in place.
    valid: () => ({ password: 'not the password' }),
    field: 'password',
    max: 128,
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
  // What the account logs in with, and whether its address is proven: no refused request may change them.
  const credentials = await db('users')
    .where({ id: account.userId })
    .first('email', 'password_hash', 'email_verified_at');
  const [attachments] = await db('note_attachments').count({ n: '*' });
  return { users: Number(users!.n), notes, credentials, attachments: Number(attachments!.n) };
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
      expect(after.credentials).toEqual(before.credentials);
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

describe('SEC-10: an error a library raises for a client fault is its 4xx problem, never a 500', () => {
  const withBody = endpoints;
  test.each(
    withBody.flatMap((e) => ['gzip', 'deflate', 'br'].map((encoding) => [e.name, encoding] as const)),
  )(
    'when the %s body does not match its Content-Encoding %s, then 400 malformed-request and no change',
    async (name, encoding) => {
      const endpoint = endpoints.find((e) => e.name === name)!;
      const before = await snapshot();
      const call = request(app)
        [endpoint.method](endpoint.path())
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding);
      if (endpoint.authenticated) call.set(bearer(account));
      const response = await call.send(JSON.stringify(endpoint.valid()));
      expect(expectProblem(response, 400).type).toBe('/problems/malformed-request');
      expect(await snapshot()).toEqual(before);
    },
  );

  test.each(withBody)('when the $name body is in an unknown Content-Encoding, then 415', async (endpoint) => {
    const call = request(app)
      [endpoint.method](endpoint.path())
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'compress');
    if (endpoint.authenticated) call.set(bearer(account));
    const response = await call.send(JSON.stringify(endpoint.valid()));
    expect(expectProblem(response, 415).type).toBe('/problems/unsupported-media-type');
  });

  test('when a note is sent gzip-compressed as its Content-Encoding says, then it is accepted', async () => {
    const body = gzipSync(JSON.stringify({ title: 'compressed' }));
    const response = await request(app)
      .post('/api/v1/notes')
      .set(bearer(account))
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize((data: Buffer) => data as never)
      .send(body);
    expect(response.status).toBe(201);
    expect(response.body.note.title).toBe('compressed');
    await request(app).delete(response.headers.location!).set(bearer(account)).expect(204);
  });

  test.each(['%A', '%ZZ', '%FF%FE', '%E0%A4%A', `${'0'.repeat(8)}%`])(
    'when the note id %p has malformed percent-encoding, then 400 malformed-request for GET, PATCH and DELETE',
    async (id) => {
      const before = await snapshot();
      for (const method of ['get', 'patch', 'delete'] as const) {
        const response = await request(app)
          [method](`/api/v1/notes/${id}`)
          .set(bearer(account))
          .send({ title: 'x' });
        expect(expectProblem(response, 400).type).toBe('/problems/malformed-request');
      }
      expect(await snapshot()).toEqual(before);
    },
  );
});

test.each([
  ['/api/v1/notes', 'GET, HEAD, POST, OPTIONS'],
  ['/api/v1/auth/login', 'POST, OPTIONS'],
])(
  'when OPTIONS %s is sent without CORS, then 204 with the Allow header it lists itself in',
  async (path, allow) => {
    const response = await request(app).options(path);
    expect(response.status).toBe(204);
    expect(response.headers.allow).toBe(allow);
  },
);

describe('SEC-10, SEC-15: a sweep of headers on every operation, through the production listener', () => {
  let server: Awaited<ReturnType<typeof listen>>;
  let sweeper: Account;
  beforeAll(async () => {
    server = await listen(built);
    sweeper = await signUp(app);
    // The upload reads its body only for its note's owner: a session of its own, which logout's cases never end.
    uploader = await signUp(app);
    uploaderNoteId = (await request(app).post('/api/v1/notes').set(bearer(uploader)).send({ title: 'files' }))
      .body.note.id;
  });
  let uploader: Account;
  let uploaderNoteId = '';
  afterAll(() => server.close(1_000));

  interface Operation {
    id: string;
    method: string;
    path: () => string;
    body: () => string;
    /** The body's media type; JSON unless said. */
    type?: string;
    /** Where this operation rightly answers another status than the table's, by case, with the reason beside it. */
    expect?: Record<string, number>;
    /** The session it is sent with; the sweeper's unless said. */
    token?: () => string;
  }
  const note = () => `/api/v1/notes/${noteId}`;
  const operations: Operation[] = [
    {
      id: 'register',
      method: 'POST',
      path: () => '/api/v1/auth/register',
      body: () => JSON.stringify({ email: uniqueEmail(), password: newPassword() }),
    },
    {
      id: 'login',
      method: 'POST',
      path: () => '/api/v1/auth/login',
      body: () => JSON.stringify({ email: account.email, password: 'not the password' }),
    },
    { id: 'logout', method: 'POST', path: () => '/api/v1/auth/logout', body: () => '{}' },
    { id: 'getCurrentUser', method: 'GET', path: () => '/api/v1/users/me', body: () => '{}' },
    { id: 'exportMyData', method: 'GET', path: () => '/api/v1/users/me/export', body: () => '{}' },
    { id: 'listMySessions', method: 'GET', path: () => '/api/v1/users/me/sessions', body: () => '{}' },
    {
      id: 'revokeMyOtherSessions',
      method: 'DELETE',
      path: () => '/api/v1/users/me/sessions',
      body: () => '{}',
    },
    {
      id: 'revokeMySession',
      method: 'DELETE',
      path: () => '/api/v1/users/me/sessions/01900000-0000-7000-8000-000000000000',
      body: () => '{}',
    },
    { id: 'listUsers', method: 'GET', path: () => '/api/v1/admin/users', body: () => '{}' },
    { id: 'listAttachments', method: 'GET', path: () => `${note()}/attachments`, body: () => '{}' },
    {
      // The body is the file itself: a PDF, whose bytes are plain text, so every case below can carry it.
      id: 'uploadAttachment',
      method: 'POST',
      path: () => `/api/v1/notes/${uploaderNoteId}/attachments?filename=swept.pdf`,
      token: () => uploader.token,
      body: () => '%PDF-1.7\n% swept\n',
      type: 'application/pdf',
      expect: {
        // A file is stored as it is sent: any Content-Encoding is unsupported for it, not a body to decode.
        ...Object.fromEntries(
          ['gzip', 'deflate', 'br'].map((e) => [`Content-Encoding: ${e} on a plain body`, 415]),
        ),
        // The body's type is checked before the route is matched, as on every API path: a PDF is a body only
        // the upload (a POST) reads.
        PUT: 415,
      },
    },
    {
      id: 'downloadAttachment',
      method: 'GET',
      path: () => `${note()}/attachments/01900000-0000-7000-8000-000000000000`,
      body: () => '{}',
    },
    {
      id: 'deleteAttachment',
      method: 'DELETE',
      path: () => `${note()}/attachments/01900000-0000-7000-8000-000000000000`,
      body: () => '{}',
    },
    {
      id: 'updateUser',
      method: 'PATCH',
      path: () => `/api/v1/admin/users/${otherUserId}`,
      body: () => JSON.stringify({ disabled: false }),
    },
    {
      id: 'deleteMyAccount',
      method: 'DELETE',
      path: () => '/api/v1/users/me',
      body: () => JSON.stringify({ password: 'not the password' }),
    },
    {
      id: 'verifyEmail',
      method: 'POST',
      path: () => '/api/v1/auth/verify-email',
      body: () => JSON.stringify({ token: 'ss_not-a-token-anyone-was-given' }),
    },
    {
      id: 'resendVerificationEmail',
      method: 'POST',
      path: () => '/api/v1/auth/verify-email/resend',
      body: () => '{}',
    },
    {
      id: 'changeMyPassword',
      method: 'POST',
      path: () => '/api/v1/users/me/password',
      body: () =>
        JSON.stringify({ currentPassword: 'not the password', newPassword: 'a long enough password' }),
    },
    {
      id: 'changeMyEmail',
      method: 'POST',
      path: () => '/api/v1/users/me/email',
      body: () => JSON.stringify({ password: 'not the password', newEmail: uniqueEmail() }),
    },
    {
      id: 'requestPasswordReset',
      method: 'POST',
      path: () => '/api/v1/auth/password-reset',
      body: () => JSON.stringify({ email: uniqueEmail() }),
    },
    {
      id: 'confirmPasswordReset',
      method: 'POST',
      path: () => '/api/v1/auth/password-reset/confirm',
      body: () =>
        JSON.stringify({ token: 'ss_not-a-token-anyone-was-given', password: 'a long enough password' }),
    },
    {
      id: 'confirmEmailChange',
      method: 'POST',
      path: () => '/api/v1/auth/confirm-email-change',
      body: () => JSON.stringify({ token: 'ss_not-a-token-anyone-was-given' }),
    },
    { id: 'listNotes', method: 'GET', path: () => '/api/v1/notes', body: () => '{}' },
    {
      id: 'createNote',
      method: 'POST',
      path: () => '/api/v1/notes',
      body: () => JSON.stringify({ title: 'swept' }),
    },
    { id: 'getNote', method: 'GET', path: note, body: () => '{}' },
    { id: 'updateNote', method: 'PATCH', path: note, body: () => JSON.stringify({ title: 'original' }) },
    { id: 'deleteNote', method: 'DELETE', path: note, body: () => '{}' },
  ];

  /** A request with the given method and header lines; Authorization of a throw-away session so logout changes nothing we use. */
  const head = (op: Operation, method: string, lines: string[]) =>
    [
      `${method} ${op.path()} HTTP/1.1`,
      'Host: 127.0.0.1',
      `Authorization: Bearer ${op.token?.() ?? sweeper.token}`,
      'Connection: close',
      ...lines,
      '',
      '',
    ].join('\r\n');
  const typeOf = (op: Operation) => `Content-Type: ${op.type ?? 'application/json'}`;
  const length = (body: string | Buffer) => `Content-Length: ${Buffer.byteLength(body)}`;

  /** [case, raw request, the expected status (undefined: any answer below 500)] */
  type Sweep = [string, (op: Operation) => string | Buffer, number | undefined];
  const refused: Sweep[] = [
    ...['gzip', 'deflate', 'br'].map(
      (encoding): Sweep => [
        `Content-Encoding: ${encoding} on a plain body`,
        (op) =>
          head(op, op.method, [typeOf(op), `Content-Encoding: ${encoding}`, length(op.body())]) + op.body(),
        400,
      ],
    ),
    [
      'Content-Encoding: compress',
      (op) => head(op, op.method, [typeOf(op), 'Content-Encoding: compress', length(op.body())]) + op.body(),
      415,
    ],
    [
      'a Content-Length shorter than the body',
      (op) => head(op, op.method, [typeOf(op), 'Content-Length: 1']) + op.body(),
      400,
    ],
    [
      'a Content-Length longer than the body, then the end',
      (op) => head(op, op.method, [typeOf(op), 'Content-Length: 500']) + op.body(),
      400,
    ],
    [
      'two different Content-Lengths',
      (op) => head(op, op.method, [typeOf(op), length(op.body()), 'Content-Length: 1']) + op.body(),
      400,
    ],
    ['Content-Length: -1', (op) => head(op, op.method, [typeOf(op), 'Content-Length: -1']) + op.body(), 400],
    [
      'Content-Length beside Transfer-Encoding: chunked',
      (op) =>
        head(op, op.method, [typeOf(op), length(op.body()), 'Transfer-Encoding: chunked']) +
        chunked(op.body()),
      400,
    ],
    [
      'Transfer-Encoding: identity',
      (op) => head(op, op.method, [typeOf(op), 'Transfer-Encoding: identity']) + op.body(),
      400,
    ],
    [
      'Transfer-Encoding: chunked, gzip (not chunked last)',
      (op) => head(op, op.method, [typeOf(op), 'Transfer-Encoding: chunked, gzip']) + chunked(op.body()),
      400,
    ],
    [
      'a malformed chunk size',
      (op) =>
        `${head(op, op.method, [typeOf(op), 'Transfer-Encoding: chunked'])}zz\r\n${op.body()}\r\n0\r\n\r\n`,
      400,
    ],
    [
      'Expect: something-else',
      (op) => head(op, op.method, [typeOf(op), 'Expect: something-else', length(op.body())]) + op.body(),
      417,
    ],
    ['a 20 kB header', (op) => head(op, op.method, [`X-Padding: ${'a'.repeat(20_000)}`]), 431],
    ['a NUL byte in a header value', (op) => head(op, op.method, ['X-Odd: a\u0000b']), 400],
    ['a header line without a colon', (op) => head(op, op.method, ['no colon here']), 400],
    ['no Host in HTTP/1.1', (op) => `${op.method} ${op.path()} HTTP/1.1\r\nConnection: close\r\n\r\n`, 400],
    ['an unknown method', (op) => head(op, 'FROB', []), 400],
    ['a lower-case method', (op) => head(op, op.method.toLowerCase(), []), 400],
    ['PROPFIND', (op) => head(op, 'PROPFIND', []), 405],
    ['TRACE', (op) => head(op, 'TRACE', []), 405],
    ['PUT', (op) => head(op, 'PUT', [typeOf(op), length(op.body())]) + op.body(), 405],
  ];
  const tolerated: Sweep[] = [
    [
      'Expect: 100-continue',
      (op) => head(op, op.method, [typeOf(op), 'Expect: 100-continue', length(op.body())]) + op.body(),
      undefined,
    ],
    [
      'a gzip body that matches its Content-Encoding',
      (op) => {
        const body = gzipSync(op.body());
        return Buffer.concat([
          Buffer.from(head(op, op.method, [typeOf(op), 'Content-Encoding: gzip', length(body)])),
          body,
        ]);
      },
      undefined,
    ],
    [
      'a chunked body',
      (op) => head(op, op.method, [typeOf(op), 'Transfer-Encoding: chunked']) + chunked(op.body()),
      undefined,
    ],
    [
      'two Content-Type headers',
      (op) => head(op, op.method, [typeOf(op), 'Content-Type: text/plain', length(op.body())]) + op.body(),
      undefined,
    ],
    [
      'three hundred extra headers',
      (op) =>
        head(
          op,
          op.method,
          Array.from({ length: 300 }, (_, i) => `X-Extra-${i}: ${i}`),
        ),
      undefined,
    ],
  ];

  const chunked = (body: string) => `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;

  describe.each(operations)('$id', (op) => {
    test.each(refused)(
      'when the request has %s, then the expected problem+json and no change',
      async (_case, make, status) => {
        const before = await snapshot();
        // Only a client that stops sending can show a lying, longer Content-Length; others keep their side open
        // as a real client waiting for its answer does.
        const endWrite = _case.includes('longer than the body');
        const responses = await rawExchange(server.port, make(op), { endWrite });
        expect(responses.length).toBeGreaterThan(0);
        for (const response of responses) expectRawProblem(response);
        expect(responses[0]!.status).toBe(op.expect?.[_case] ?? status);
        expect(await snapshot()).toEqual(before);
      },
    );

    test.each(tolerated)('when the request has %s, then an answer below 500', async (_case, make) => {
      const responses = await rawExchange(server.port, make(op), { endWrite: false });
      expect(responses.length).toBeGreaterThan(0);
      for (const response of responses) {
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) expectRawProblem(response);
      }
    });
  });
});

function expectRawProblem(response: RawResponse) {
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(response.body);
  expect(body.status).toBe(response.status);
  expect(body.type).toMatch(/^\/problems\/[a-z-]+$/);
}
