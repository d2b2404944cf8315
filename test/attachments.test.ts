import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { type Account, bearer, expectProblem, signUp, useTestApp } from './support/harness';
import { streamUpload } from './support/uploads';

const uploadDir = mkdtempSync(join(tmpdir(), 'shipshape-attachments-'));
const accelDir = mkdtempSync(join(tmpdir(), 'shipshape-attachments-accel-'));
afterAll(() => {
  rmSync(uploadDir, { recursive: true, force: true });
  rmSync(accelDir, { recursive: true, force: true });
});
const { app, db } = useTestApp({ UPLOAD_DIR: uploadDir, UPLOAD_MAX_BYTES: '4096' });
const accel = useTestApp({ UPLOAD_DIR: accelDir, UPLOAD_ACCEL_PREFIX: '/_uploads/' });
/** An S3 store whose server is not there (port 9 on loopback: discard, never listening here). */
const unreachable = useTestApp({
  UPLOAD_STORE: 's3',
  S3_BUCKET: 'shipshape-unreachable',
  S3_REGION: 'us-east-1',
  S3_ENDPOINT: 'http://127.0.0.1:9',
  S3_FORCE_PATH_STYLE: 'true',
});

/** A real 1x1 PNG, then padding to a size: the type is judged by its first bytes. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const PDF = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1');

async function noteOf(account: Account, target = app) {
  const created = await request(target)
    .post('/api/v1/notes')
    .set(bearer(account))
    .send({ title: 'with files' })
    .expect(201);
  return created.body.note.id as string;
}

const upload = (
  account: Account,
  noteId: string,
  type: string,
  body: Buffer,
  filename = 'photo.png',
  target = app,
) =>
  request(target)
    .post(`/api/v1/notes/${noteId}/attachments`)
    .query({ filename })
    .set(bearer(account))
    .set('Content-Type', type)
    .send(body);

/** Every file under a directory, partial ones included. */
const filesUnder = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
    : [];

describe('DB-16: attachments', () => {
  test('DB-16: when a PNG is attached, then it is stored outside the code under UPLOAD_DIR and downloads byte for byte as an attachment', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);

    const created = await upload(account, noteId, 'image/png', PNG).expect(201);

    const sha256 = createHash('sha256').update(PNG).digest('hex');
    expect(created.body.attachment).toEqual({
      id: expect.any(String),
      filename: 'photo.png',
      contentType: 'image/png',
      size: PNG.length,
      sha256,
      createdAt: expect.any(String),
    });
    expect(String(created.headers.location)).toBe(
      `/api/v1/notes/${noteId}/attachments/${created.body.attachment.id}`,
    );
    const onDisk = join(uploadDir, account.userId, noteId, created.body.attachment.id);
    expect(readFileSync(onDisk)).toEqual(PNG);

    const listed = await request(app)
      .get(`/api/v1/notes/${noteId}/attachments`)
      .set(bearer(account))
      .expect(200);
    expect(listed.body.items).toEqual([created.body.attachment]);
    const download = await request(app)
      .get(String(created.headers.location))
      .set(bearer(account))
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(download.body).toEqual(PNG);
    expect(download.headers['content-type']).toBe('image/png');
    expect(download.headers['content-disposition']).toMatch(/^attachment; filename="?photo\.png"?$/);
    expect(download.headers['content-security-policy']).toMatch(/sandbox/);
    expect(download.headers['x-content-type-options']).toBe('nosniff');
  });

  test('when a file claims a type its content does not have, or comes compressed, then 415 and nothing is stored', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    const script = Buffer.from('<script>alert(document.cookie)</script>');

    for (const type of ['image/png', 'image/jpeg', 'application/pdf'])
      expect(expectProblem(await upload(account, noteId, type, script), 415).type).toBe(
        '/problems/unsupported-media-type',
      );
    expectProblem(await upload(account, noteId, 'text/html', script), 415);
    const gzipped = await request(app)
      .post(`/api/v1/notes/${noteId}/attachments`)
      .query({ filename: 'photo.png' })
      .set(bearer(account))
      .set('Content-Type', 'image/png')
      .set('Content-Encoding', 'gzip')
      .send(gzipSync(PNG));
    expectProblem(gzipped, 415);
    expectProblem(await upload(account, noteId, 'image/png', PDF), 415);

    expect(filesUnder(join(uploadDir, account.userId))).toEqual([]);
    expect(await db('note_attachments').where({ note_id: noteId }).first()).toBeUndefined();
    await upload(account, noteId, 'application/pdf', PDF, 'paper.pdf').expect(201);
  });

  test('when a file is over UPLOAD_MAX_BYTES, declared or streamed, then 413 and no partial file stays', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    const big = Buffer.concat([PNG, Buffer.alloc(5000)]);

    expect(expectProblem(await upload(account, noteId, 'image/png', big), 413).type).toBe(
      '/problems/body-too-large',
    );
    const chunked = await streamUpload(app, account, noteId, [PNG, Buffer.alloc(2500), Buffer.alloc(2500)]);
    expect(chunked.status).toBe(413);
    expect(chunked.type).toBe('/problems/body-too-large');

    expect(filesUnder(join(uploadDir, account.userId))).toEqual([]);
    expect(await db('note_attachments').where({ note_id: noteId }).first()).toBeUndefined();
  });

  test('when a file name carries a path or control characters, then 422 and nothing is stored', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    for (const filename of ['../../etc/passwd', 'a\\b.png', 'line\nbreak.png', 'tab\there.png', ''])
      expectProblem(await upload(account, noteId, 'image/png', PNG, filename), 422);
    expect(filesUnder(uploadDir).some((path) => path.includes('passwd'))).toBe(false);
  });

  test("when another user asks for, lists, deletes or attaches to someone's note, then 404 and nothing changes", async () => {
    const owner = await signUp(app);
    const other = await signUp(app);
    const noteId = await noteOf(owner);
    const created = await upload(owner, noteId, 'image/png', PNG).expect(201);
    const url = String(created.headers.location);

    expectProblem(await request(app).get(url).set(bearer(other)), 404);
    expectProblem(await request(app).get(`/api/v1/notes/${noteId}/attachments`).set(bearer(other)), 404);
    expectProblem(await request(app).delete(url).set(bearer(other)), 404);
    expectProblem(await upload(other, noteId, 'image/png', PNG), 404);
    expectProblem(await request(app).get(url), 401);
    await request(app).get(url).set(bearer(owner)).expect(200);
    expect(filesUnder(join(uploadDir, other.userId))).toEqual([]);
  });

  test('DB-16: when an attachment, its note or its owner is deleted, then its files are removed with it', async () => {
    const account = await signUp(app);
    const [first, second] = [await noteOf(account), await noteOf(account)];
    const a = (await upload(account, first, 'image/png', PNG).expect(201)).body.attachment.id;
    await upload(account, first, 'image/png', PNG).expect(201);
    await upload(account, second, 'application/pdf', PDF, 'x.pdf').expect(201);

    await request(app).delete(`/api/v1/notes/${first}/attachments/${a}`).set(bearer(account)).expect(204);
    expect(existsSync(join(uploadDir, account.userId, first, a))).toBe(false);
    expect(filesUnder(join(uploadDir, account.userId, first))).toHaveLength(1);

    await request(app).delete(`/api/v1/notes/${first}`).set(bearer(account)).expect(204);
    expect(existsSync(join(uploadDir, account.userId, first))).toBe(false);
    expect(await db('note_attachments').where({ note_id: first }).first()).toBeUndefined();

    await request(app)
      .delete('/api/v1/users/me')
      .set(bearer(account))
      .send({ password: account.password })
      .expect(204);
    expect(existsSync(join(uploadDir, account.userId))).toBe(false);
    expect(await db('note_attachments').where({ note_id: second }).first()).toBeUndefined();
  });

  test('DB-16: when UPLOAD_ACCEL_PREFIX is set, then a download is an X-Accel-Redirect for nginx to serve and the app sends no bytes', async () => {
    const account = await signUp(accel.app);
    const noteId = await noteOf(account, accel.app);
    const created = await upload(account, noteId, 'image/png', PNG, 'photo.png', accel.app).expect(201);
    const id = created.body.attachment.id;

    const download = await request(accel.app)
      .get(String(created.headers.location))
      .set(bearer(account))
      .expect(200);

    expect(download.headers['x-accel-redirect']).toBe(`/_uploads/${account.userId}/${noteId}/${id}`);
    expect(download.headers['content-type']).toBe('image/png');
    expect(download.headers['content-disposition']).toMatch(/^attachment; filename="?photo\.png"?$/);
    expect(download.text ?? '').toBe('');
    expect(readFileSync(join(accelDir, account.userId, noteId, id))).toEqual(PNG);
  });

  test("when UPLOAD_STORE=s3 and the bucket's server cannot be reached, then an upload answers 503 with Retry-After and nothing is recorded", async () => {
    const account = await signUp(unreachable.app);
    const noteId = await noteOf(account, unreachable.app);

    // Credentials as the AWS SDK finds them on a server; jest gives each test file its own process.env.
    process.env.AWS_ACCESS_KEY_ID = 'test-access-key';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret-key';
    const refused = await upload(account, noteId, 'image/png', PNG, 'photo.png', unreachable.app);

    expect(expectProblem(refused, 503).detail).toMatch(/file store/);
    expect(refused.headers['retry-after']).toBe('5');
    expect(await db('note_attachments').where({ note_id: noteId }).first()).toBeUndefined();
  });

  test('when the export is asked for, then it lists attachments too', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    await upload(account, noteId, 'image/png', PNG).expect(201);
    const exported = await request(app).get('/api/v1/users/me/export').set(bearer(account)).expect(200);
    expect(exported.body.attachments).toEqual([
      expect.objectContaining({ noteId, filename: 'photo.png', contentType: 'image/png', size: PNG.length }),
    ]);
  });
});
