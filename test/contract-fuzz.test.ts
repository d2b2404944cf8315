import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { type Account, bearer, signUp, useTestApp } from './support/harness';
import { type Operation, readOperations, type Schema } from './support/openapi-model';
import { listen, type RawResponse, rawExchange } from './support/raw-http';

/**
 * A contract fuzzer driven by the OpenAPI document (SEC-10, SEC-15): for every operation it sends valid and
 * mutated requests (types, bounds, unicode, NUL, injection strings, prototype keys, wrong and lying headers,
 * bad ids and cursors, foreign sessions and CSRF tokens) through the production listener and checks every
 * answer against the document and the data.
 *
 * FUZZ_SEED replays a run (a failure prints its seed and path); FUZZ_RUNS sets the number of requests.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);

const built = useTestApp();
const { app, db } = built;

/** The first bytes of a real file of each type an upload may have (the server judges the type by them). */
const FILE_SAMPLES: Record<string, Buffer> = {
  'image/png': Buffer.from([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
  ]),
  'image/jpeg': Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]),
  'image/gif': Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1'),
  'image/webp': Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'),
  'application/pdf': Buffer.from('%PDF-1.7\n%%EOF\n', 'latin1'),
};

// ---------------------------------------------------------------------------------------------------------
// What the world looks like while the fuzzer runs: two users with marked notes, spare sessions to log out.

interface Session {
  token: string;
  cookies: string[];
  csrfToken: string;
}

interface World {
  a: Account;
  b: Account;
  aMark: string;
  bMark: string;
  aNotes: string[];
  bNotes: string[];
  /** Files attached to A's first note, and one of B's: [note id, attachment id]. */
  aFiles: [string, string][];
  bFile: [string, string];
  deleted: string[];
  aCursors: string[];
  bCursor: string;
  spare: Session[];
  revoked: string;
  port: number;
}

let world: World;
let operations: Operation[];
let server: Awaited<ReturnType<typeof listen>>;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

async function login(account: Account): Promise<Session> {
  const response = await request(app)
    .post('/api/v1/auth/login')
    .send({ email: account.email, password: account.password })
    .expect(200);
  const cookies = ([] as string[]).concat(response.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!);
  return { token: response.body.token, cookies, csrfToken: response.body.csrfToken };
}

async function seedNotes(account: Account, mark: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const created = await request(app)
      .post('/api/v1/notes')
      .set(bearer(account))
      .send({ title: `${mark} ${i}`, body: `${mark} body` })
      .expect(201);
    ids.push(created.body.note.id);
  }
  return ids;
}

beforeAll(async () => {
  server = await listen(built);
  const document = (await request(app).get('/api/v1/openapi.json').expect(200)).body;
  // A counterexample names the operation rather than printing its validators.
  operations = readOperations(document).map((op) =>
    Object.assign(op, { [fc.toStringMethod]: () => op.operationId }),
  );
  const [a, b] = [await signUp(app), await signUp(app)];
  const aMark = `A-MARK-${randomBytes(6).toString('hex')}`;
  const bMark = `B-MARK-${randomBytes(6).toString('hex')}`;
  const aNotes = await seedNotes(a, aMark);
  const bNotes = await seedNotes(b, bMark);
  const bPage = await request(app).get('/api/v1/notes?limit=1').set(bearer(b)).expect(200);
  const attach = async (account: Account, noteId: string): Promise<[string, string]> => {
    const created = await request(app)
      .post(`/api/v1/notes/${noteId}/attachments?filename=seed.png`)
      .set(bearer(account))
      .set('Content-Type', 'image/png')
      .send(FILE_SAMPLES['image/png'])
      .expect(201);
    return [noteId, created.body.attachment.id];
  };
  const aFiles = [await attach(a, aNotes[0]!), await attach(a, aNotes[0]!)];
  const bFile = await attach(b, bNotes[0]!);
  const spare = await Promise.all(Array.from({ length: 8 }, () => login(a)));
  const doomed = await login(a);
  await request(app).post('/api/v1/auth/logout').set('Authorization', `Bearer ${doomed.token}`).expect(204);
  world = {
    a,
    b,
    aMark,
    bMark,
    aNotes,
    bNotes,
    aFiles,
    bFile,
    deleted: [],
    aCursors: [],
    bCursor: bPage.body.nextCursor,
    spare,
    revoked: doomed.token,
    port: server.port,
  };
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await server.close(1_000);
});

// ---------------------------------------------------------------------------------------------------------
// Generators: valid values from the document's schemas, and the mutations applied to them.

const codePoints = (value: string) => [...value].length;

/** Characters a person might type, across the planes; never NUL and never a lone surrogate. */
const character = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCodePoint(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0xa0, max: 0xd7ff }).map((c) => String.fromCodePoint(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x1_0000, max: 0x1_faff }).map((c) => String.fromCodePoint(c)) },
  { weight: 1, arbitrary: fc.constantFrom('\t', '\n', '\u202e', '\u200b', '\ufeff', '\u00e9', '\u0301') },
);

function valueFor(schema: Schema): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.type === 'integer')
    return fc.integer({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000 });
  if (schema.type === 'object') {
    const properties = schema.properties ?? {};
    const record = fc.record(
      Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, valueFor(property)])),
      { requiredKeys: schema.required ?? [] },
    );
    return schema.minProperties
      ? record.filter((v) => Object.keys(v).length >= schema.minProperties!)
      : record;
  }
  if (schema.type === 'string') {
    const min = schema.minLength ?? 0;
    const max = Math.min(schema.maxLength ?? 300, 300);
    const pattern = schema.pattern ? new RegExp(schema.pattern, 'u') : undefined;
    const base = pattern?.source.startsWith('^')
      ? fc.stringMatching(pattern)
      : fc.string({ unit: character, minLength: min, maxLength: max });
    return base.filter((v) => codePoints(v) >= min && codePoints(v) <= max && (!pattern || pattern.test(v)));
  }
  return fc.jsonValue();
}

const NASTY_STRINGS = [
  '',
  ' ',
  '   \t\n',
  'nul\u0000byte',
  '\ud800',
  'lone \udc00 low',
  "'; DROP TABLE notes; --",
  "' OR '1'='1",
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe is meant to arrive verbatim
  '${jndi:ldap://x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  '../../etc/passwd',
  '%00',
  '\u202egnp.exe',
  'x'.repeat(201),
  'x'.repeat(10_001),
  '🙂'.repeat(101),
  '🙂'.repeat(201),
  'x'.repeat(100_001),
];
const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

type AuthHow =
  | 'none'
  | 'garbage'
  | 'foreign'
  | 'revoked'
  | 'cookie'
  | 'cookie-no-csrf'
  | 'cookie-foreign-csrf'
  | 'cookie-foreign-origin'
  | 'cookie-cross-site'
  | 'two-tokens';

type Mutation =
  | { kind: 'none' }
  | { kind: 'auth'; how: AuthHow }
  | { kind: 'drop'; pick: number }
  | { kind: 'extra'; key: string; value: unknown }
  | { kind: 'type'; pick: number; value: unknown }
  | { kind: 'string'; pick: number; value: string }
  | { kind: 'raw-body'; text: string }
  | { kind: 'query'; name: string; values: string[] }
  | { kind: 'id'; value: string }
  | { kind: 'header'; how: string }
  | { kind: 'method'; method: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('auth' as const),
      how: fc.constantFrom<AuthHow>(
        'none',
        'garbage',
        'foreign',
        'revoked',
        'cookie',
        'cookie-no-csrf',
        'cookie-foreign-csrf',
        'cookie-foreign-origin',
        'cookie-cross-site',
        'two-tokens',
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('extra' as const),
      key: fc.oneof(
        fc.constantFrom('isAdmin', '__proto__', 'constructor', 'prototype', 'user_id', 'id', 'createdAt'),
        fc.string({ maxLength: 8 }),
      ),
      value: fc.jsonValue({ maxDepth: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('type' as const), pick: fc.nat(), value: wrongType }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('string' as const), pick: fc.nat(), value: nastyString }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('raw-body' as const),
      text: fc.oneof(
        fc.constantFrom(
          '{"title": "unterminated',
          '"just a string"',
          '[1,2,3]',
          'null',
          '42',
          '{}',
          '',
          '{"__proto__": {"isAdmin": true}}',
          '{"title": "a", "title": "b"}',
          `{"title": ${deep(5_000)}}`,
          '\ufeff{"title": "bom"}',
          `{"title": "${'x'.repeat(100_001)}"}`,
        ),
        fc.json({ maxDepth: 2 }),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('query' as const),
      name: fc.constantFrom('limit', 'cursor', 'sort', 'limit[]', 'cursor[$ne]', '__proto__'),
      values: fc.array(
        fc.oneof(
          fc.constantFrom('0', '101', '-1', 'abc', '1.5', '', '1e2', '0x10', '999999999', '00', '01', ' 1'),
          fc.constantFrom('zzz', 'A'.repeat(65), '%ZZ', Buffer.from('not a uuid').toString('base64url')),
          fc.string({ maxLength: 12 }),
        ),
        { minLength: 1, maxLength: 2 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('id' as const),
      value: fc.oneof(
        fc.constantFrom(
          'foreign',
          'deleted',
          'unknown',
          '%ZZ',
          '%A',
          '%FF%FE',
          '%E0%A4%A',
          '..%2F..%2Fetc',
          '%00',
        ),
        fc.string({ maxLength: 40 }).map(encodeURIComponent),
        fc.constant('a'.repeat(600)),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('header' as const),
      how: fc.constantFrom(
        'text/plain',
        'form',
        'latin1',
        'no-content-type',
        'gzip-lie',
        'deflate-lie',
        'br-lie',
        'compress',
        'length-short',
        'length-long',
        'length-two',
        'length-and-chunked',
        'expect-odd',
        'huge-header',
        'accept-xml',
        'duplicate-content-type',
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('method' as const),
      method: fc.constantFrom('PUT', 'PROPFIND', 'TRACE', 'GET', 'POST', 'PATCH', 'DELETE', 'FROB'),
    }),
  },
);

interface Plan {
  op: Operation;
  body: Record<string, unknown> | undefined;
  query: Record<string, unknown>;
  pick: number;
  useOwnCredentials: boolean;
  mutation: Mutation;
}

function planFor(op: Operation): fc.Arbitrary<Plan> {
  const query = op.parameters.filter((p) => p.in === 'query');
  const queryArb = fc.record(
    Object.fromEntries(query.map((p) => [p.name, p.name === 'cursor' ? fc.nat() : valueFor(p.schema)])),
    { requiredKeys: query.filter((p) => p.required).map((p) => p.name) },
  );
  return fc.record({
    op: fc.constant(op),
    body: op.body ? (valueFor(op.body) as fc.Arbitrary<Record<string, unknown>>) : fc.constant(undefined),
    query: queryArb,
    pick: fc.nat(),
    useOwnCredentials: fc.boolean(),
    mutation,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Turning a plan into bytes on the wire, and reading the answer.

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | undefined;
  /** Whose session the request carries: the fuzzer checks the other user's data stays out of the answer. */
  as: 'a' | 'b' | 'nobody';
  raw?: string | Buffer;
  /** The raw request stops sending early (a lying, longer Content-Length). */
  endWrite?: boolean;
}

const SAFE = new Set(['GET', 'HEAD']);

function materialize(plan: Plan): Sent {
  const { op, mutation } = plan;
  let method = op.method;
  let as: Sent['as'] = op.authenticated ? 'a' : 'nobody';

  // Path: a note of A's (the one operation that takes one), or a mutated id.
  let path = op.path;
  // An attachment path: one of A's files on its own note (B's under a foreign-id mutation, or an unknown id).
  if (path.includes('{attachmentId}')) {
    const [noteId, fileId] =
      mutation.kind === 'id' && mutation.value === 'foreign'
        ? world.bFile
        : (world.aFiles[plan.pick % world.aFiles.length] ?? [randomUUID(), randomUUID()]);
    path = path.replace(
      '{attachmentId}',
      mutation.kind === 'id' && mutation.value === 'unknown' ? randomUUID() : fileId,
    );
    if (mutation.kind !== 'id') path = path.replace('{id}', noteId);
  }
  if (path.includes('{id}')) {
    const own = world.aNotes[plan.pick % Math.max(world.aNotes.length, 1)] ?? randomUUID();
    let id = own;
    if (mutation.kind === 'id') {
      id =
        mutation.value === 'foreign'
          ? world.bNotes[plan.pick % world.bNotes.length]!
          : mutation.value === 'deleted'
            ? (world.deleted[plan.pick % Math.max(world.deleted.length, 1)] ?? randomUUID())
            : mutation.value === 'unknown'
              ? randomUUID()
              : mutation.value;
    }
    path = path.replace('{id}', id);
  }

  // Query: valid values (a cursor is one this API issued to A), or mutated ones.
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(plan.query)) {
    if (name === 'cursor') {
      const cursor = world.aCursors[Number(value) % Math.max(world.aCursors.length, 1)];
      if (cursor) search.append(name, cursor);
    } else search.append(name, String(value));
  }
  let queryText = search.toString();
  if (mutation.kind === 'query') {
    const values =
      mutation.name === 'cursor' && mutation.values[0] === 'zzz' ? [world.bCursor] : mutation.values;
    queryText = values
      .map((v) => `${mutation.name}=${v.startsWith('%') ? v : encodeURIComponent(v)}`)
      .join('&');
  }
  if (queryText) path += `?${queryText}`;

  // Body: the valid one, or mutated.
  let body: Record<string, unknown> | undefined = plan.body && { ...plan.body };
  if (op.operationId === 'login' && plan.useOwnCredentials)
    body = { email: world.a.email.toUpperCase(), password: world.a.password };
  let text: string | undefined = body === undefined ? undefined : JSON.stringify(body);
  const fields = Object.keys(op.body?.properties ?? {});
  const field = fields[plan.pick % Math.max(fields.length, 1)];
  if (mutation.kind === 'drop' && body) {
    const required = op.body?.required ?? [];
    if (required.length > 0) delete body[required[plan.pick % required.length]!];
    text = JSON.stringify(body);
  } else if (mutation.kind === 'extra') {
    text = JSON.stringify({ ...body, [mutation.key]: mutation.value });
    if (mutation.key === '__proto__')
      text = `{"__proto__": ${JSON.stringify(mutation.value)}${text.length > 2 ? `, ${text.slice(1)}` : '}'}`;
  } else if ((mutation.kind === 'type' || mutation.kind === 'string') && field) {
    text = JSON.stringify({ ...body, [field]: mutation.value });
  } else if (mutation.kind === 'raw-body') {
    text = mutation.text;
  }

  const headers: Record<string, string | string[]> = { Host: `127.0.0.1:${world.port}` };
  let bytes = text === undefined ? undefined : Buffer.from(text, 'utf8');
  if (bytes) headers['Content-Type'] = 'application/json';
  // A file upload: a file of a documented type, unless a mutation made the body JSON or raw text.
  if (op.binary && text === undefined) {
    const type = op.binary[plan.pick % op.binary.length]!;
    bytes = Buffer.concat([FILE_SAMPLES[type]!, randomBytes(plan.pick % 64)]);
    headers['Content-Type'] = type;
  }

  // Credentials.
  let session: Session = world.a;
  if (op.operationId === 'logout') {
    session = world.spare.pop() ?? { token: world.revoked, cookies: [], csrfToken: 'none' };
  }
  if (op.authenticated) headers.Authorization = `Bearer ${session.token}`;
  if (mutation.kind === 'auth') {
    delete headers.Authorization;
    const cookie = (s: Session) => s.cookies.join('; ');
    switch (mutation.how) {
      case 'none':
        as = 'nobody';
        break;
      case 'garbage':
        headers.Authorization = `Bearer ${randomBytes(32).toString('base64url')}`;
        as = 'nobody';
        break;
      case 'revoked':
        headers.Authorization = `Bearer ${world.revoked}`;
        as = 'nobody';
        break;
      case 'foreign':
        // B's own session, aimed at A's resources: only where it cannot legitimately change B's data.
        if (op.operationId === 'logout' || op.operationId === 'createNote') {
          headers.Authorization = `Bearer ${session.token}`;
        } else {
          headers.Authorization = `Bearer ${world.b.token}`;
          as = 'b';
        }
        break;
      case 'two-tokens':
        headers.Authorization = [`Bearer ${session.token}`, `Bearer ${world.b.token}`];
        break;
      case 'cookie':
        headers.Cookie = cookie(session);
        headers['X-CSRF-Token'] = session.csrfToken;
        break;
      case 'cookie-no-csrf':
        headers.Cookie = cookie(session);
        break;
      case 'cookie-foreign-csrf':
        headers.Cookie = cookie(session);
        headers['X-CSRF-Token'] = world.b.csrfToken;
        break;
      case 'cookie-foreign-origin':
        headers.Cookie = cookie(session);
        headers['X-CSRF-Token'] = session.csrfToken;
        headers.Origin = 'https://evil.example';
        break;
      case 'cookie-cross-site':
        headers.Cookie = cookie(session);
        headers['X-CSRF-Token'] = session.csrfToken;
        headers['Sec-Fetch-Site'] = 'cross-site';
        break;
    }
    if (!op.authenticated && !['cookie', 'cookie-no-csrf'].includes(mutation.how)) as = 'nobody';
  }

  if (mutation.kind === 'method') method = mutation.method;

  let raw: string | undefined;
  if (mutation.kind === 'header') {
    bytes ??= Buffer.from('{}');
    const json = { 'Content-Type': 'application/json' };
    const withBody = (extra: Record<string, string>) => Object.assign(headers, json, extra);
    switch (mutation.how) {
      case 'text/plain':
        headers['Content-Type'] = 'text/plain';
        break;
      case 'form':
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        break;
      case 'latin1':
        headers['Content-Type'] = 'application/json; charset=latin1';
        break;
      case 'no-content-type':
        delete headers['Content-Type'];
        break;
      case 'gzip-lie':
      case 'deflate-lie':
      case 'br-lie':
        withBody({ 'Content-Encoding': mutation.how.split('-')[0]! });
        break;
      case 'compress':
        withBody({ 'Content-Encoding': 'compress' });
        break;
      case 'accept-xml':
        headers.Accept = 'application/xml';
        break;
      case 'duplicate-content-type':
        headers['Content-Type'] = ['application/json', 'text/plain'];
        break;
      default: {
        // Lies Node's client refuses to tell: written by hand on a socket of their own.
        const lines = Object.entries(headers).flatMap(([name, value]) =>
          ([] as string[]).concat(value).map((v) => `${name}: ${v}`),
        );
        const extra: Record<string, string[]> = {
          'length-short': ['Content-Type: application/json', 'Content-Length: 1'],
          'length-long': ['Content-Type: application/json', `Content-Length: ${bytes.length + 50}`],
          'length-two': [
            'Content-Type: application/json',
            `Content-Length: ${bytes.length}`,
            'Content-Length: 1',
          ],
          'length-and-chunked': [
            'Content-Type: application/json',
            `Content-Length: ${bytes.length}`,
            'Transfer-Encoding: chunked',
          ],
          'expect-odd': [
            'Content-Type: application/json',
            `Content-Length: ${bytes.length}`,
            'Expect: teapot',
          ],
          'huge-header': [`X-Padding: ${'p'.repeat(20_000)}`],
        };
        const head = [`${method} ${path} HTTP/1.1`, ...lines, ...extra[mutation.how]!, 'Connection: close'];
        raw = `${head.join('\r\n')}\r\n\r\n${mutation.how === 'huge-header' ? '' : bytes.toString('utf8')}`;
      }
    }
  }
  if (SAFE.has(method) && mutation.kind !== 'header' && mutation.kind !== 'raw-body') bytes = undefined;
  if (!bytes) {
    delete headers['Content-Type'];
  }
  const endWrite = mutation.kind === 'header' && mutation.how === 'length-long';
  return { method, path, headers, body: bytes, as, endWrite, ...(raw && { raw }) };
}

function send(sent: Sent): Promise<RawResponse[]> {
  if (sent.raw !== undefined) return rawExchange(world.port, sent.raw, { endWrite: sent.endWrite ?? false });
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port: world.port,
        method: sent.method,
        path: sent.path,
        agent,
        headers: { ...sent.headers, ...(sent.body && { 'Content-Length': String(sent.body.length) }) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve([
            {
              status: response.statusCode ?? 0,
              headers: Object.fromEntries(
                Object.entries(response.headers).map(([k, v]) => [
                  k,
                  ([] as string[]).concat(v ?? []).join(', '),
                ]),
              ),
              body: Buffer.concat(chunks).toString('utf8'),
            },
          ]),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(sent.body);
  });
}

/**
 * The operation a request really addresses, as the router matches it (an empty id leaves /notes/, which is
 * the list); undefined when the method and path name none.
 */
function addressed(sent: Sent): Operation | undefined {
  const path = sent.path.split('?')[0]!;
  return operations.find(
    (op) => op.method === sent.method && new RegExp(`^${op.path.replace(/\{\w+\}/g, '[^/]+')}/?$`).test(path),
  );
}

/** Every row the API can change, folded into one value: equal before and after means nothing changed. */
async function fingerprint(): Promise<string> {
  const result = await db.raw(`
    select
      (select count(*) from users) as users,
      (select count(*) from auth_sessions) as sessions,
      (select count(*) from auth_sessions where revoked_at is not null) as revoked,
      (select count(*) from notes) as notes,
      (select coalesce(sum(hashtext(id::text || title || body || updated_at::text)), 0) from notes) as content,
      (select count(*) from note_attachments) as attachments,
      (select count(*) from users where role <> 'user' or disabled_at is not null) as privileged,
      (select coalesce(sum(hashtext(email || password_hash || coalesce(email_verified_at::text, ''))), 0)
         from users) as credentials
  `);
  return JSON.stringify(result.rows[0]);
}

async function bFingerprint(): Promise<string> {
  const rows = await db('notes')
    .where({ user_id: world.b.userId })
    .orderBy('id')
    .select('id', 'title', 'body');
  return JSON.stringify(rows);
}

// ---------------------------------------------------------------------------------------------------------
// The property.

const PASSWORD_WORK = new Set(['register', 'login', 'changeMyPassword', 'changeMyEmail']);
let lastFingerprint: string | undefined;
const stats = { requests: 0, statuses: new Map<number, number>() };

async function check(plan: Plan): Promise<void> {
  const sent = materialize(plan);
  // Nothing but the fuzzer writes while it runs, so the state after one request is the state before the next.
  lastFingerprint ??= await fingerprint();
  const before = lastFingerprint;
  const responses = await send(sent);
  stats.requests++;
  const after = await fingerprint();
  lastFingerprint = after;
  const what = `${sent.method} ${sent.path.slice(0, 120)} (${plan.op.operationId}, ${JSON.stringify(plan.mutation).slice(0, 160)})`;

  if (responses.length === 0) throw new Error(`${what}: no answer at all`);
  for (const response of responses) {
    stats.statuses.set(response.status, (stats.statuses.get(response.status) ?? 0) + 1);
    if (response.status >= 500) throw new Error(`${what}: ${response.status} ${response.body.slice(0, 300)}`);
    const contentType = response.headers['content-type'] ?? '';
    const json = /^application\/(problem\+)?json/.test(contentType);
    const body = response.body === '' || !json ? undefined : JSON.parse(response.body);
    if (response.status >= 400) {
      if (!contentType.startsWith('application/problem+json'))
        throw new Error(`${what}: ${response.status} is not problem+json (${contentType})`);
      if (body?.status !== response.status)
        throw new Error(`${what}: problem status ${body?.status} differs from HTTP ${response.status}`);
    }
    // The operation the method and path name answers as documented; a method with none is only refused.
    const target = addressed(sent);
    if (target) {
      const invalid = target.validate(response.status, body, contentType);
      if (invalid) throw new Error(`${what}: ${invalid}`);
    } else if (response.status < 400 || ![400, 404, 405, 408, 413, 415, 417, 431].includes(response.status)) {
      throw new Error(`${what}: ${response.status} where no operation was addressed`);
    }
    const foreignMark = sent.as === 'b' ? world.aMark : world.bMark;
    if (sent.as !== 'nobody' && response.body.includes(foreignMark))
      throw new Error(`${what}: the answer shows another user's data`);
  }

  const [first] = responses as [RawResponse];
  if (first.status >= 300 && after !== before)
    throw new Error(`${what}: refused with ${first.status}, yet the data changed`);

  // A request valid by the document is not refused as invalid: the document says exactly what is accepted.
  if (plan.mutation.kind === 'none' && [400, 413, 415, 422].includes(first.status))
    throw new Error(
      `${what}: a request valid by the document got ${first.status}: ${first.body.slice(0, 300)}`,
    );
  if (plan.mutation.kind === 'auth' && plan.op.authenticated) {
    const how = plan.mutation.how;
    if (['none', 'garbage', 'revoked'].includes(how) && first.status !== 401)
      throw new Error(`${what}: ${how} credentials got ${first.status}, not 401`);
    const unsafe = !SAFE.has(sent.method);
    if (unsafe && how.startsWith('cookie-') && first.status !== 403 && first.status !== 401)
      throw new Error(`${what}: a cookie request refused for CSRF got ${first.status}`);
    if (how === 'foreign' && sent.path.match(/\/notes\/[0-9a-f-]{36}$/) && first.status !== 404)
      throw new Error(`${what}: another user's session reached A's note with ${first.status}`);
  }

  // Keep the world in step with what the server accepted.
  if (sent.as === 'a' && first.status < 300) {
    const json = /^application\/(problem\+)?json/.test(first.headers['content-type'] ?? '');
    const body = first.body && json ? JSON.parse(first.body) : {};
    const noteId = /^\/api\/v1\/notes\/([0-9a-f-]{36})(\?|$)/.exec(sent.path)?.[1];
    if (sent.method === 'POST' && body.note) world.aNotes.push(body.note.id);
    if (sent.method === 'DELETE' && noteId) {
      world.aNotes = world.aNotes.filter((n) => n !== noteId);
      world.deleted.push(noteId);
    }
    if (body.nextCursor) world.aCursors.push(body.nextCursor);
  }
}

test(`SEC-10, SEC-15: when ${RUNS} generated and mutated requests from the OpenAPI document hit every operation, then no 5xx, every answer is documented, problems are problem+json, no user sees or changes another's data and nothing refused changes anything`, async () => {
  const bBefore = await bFingerprint();
  const weighted = operations.flatMap((op) =>
    // These hash or check a password (argon2id, tens of milliseconds): fewer of them, more of the rest.
    Array.from({ length: PASSWORD_WORK.has(op.operationId) ? 1 : 5 }, () => op),
  );
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: weighted.length - 1 }).chain((i) => planFor(weighted[i]!)),
      check,
    ),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  expect(await bFingerprint()).toBe(bBefore);
  // Every operation was reached, and with more than its success status.
  const byStatus = [...stats.statuses.entries()].sort(([a], [b]) => a - b);
  process.stderr.write(
    `contract fuzzer: ${stats.requests} requests, FUZZ_SEED=${SEED}, ${seconds} s; statuses ${JSON.stringify(byStatus)}\n`,
  );
  // With enough requests every kind of answer shows up; a short replay (FUZZ_RUNS) need not reach them all.
  if (RUNS >= 1_000)
    expect(byStatus.map(([status]) => status)).toEqual(
      expect.arrayContaining([200, 201, 204, 400, 401, 403, 404, 405, 413, 415, 422]),
    );
}, 240_000);
