import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { usePreparedStatements } from '../../src/db/knex';
import { purgeExpiredData } from '../../src/features/privacy/retention';
import { createLogger } from '../../src/observability/logger';
import { fileStoreFor } from '../../src/storage/files';
import { s3FileStore } from '../../src/storage/s3-files';
import { type Account, bearer, buildTestApp, expectProblem, signUp, type TestApp } from '../support/harness';
import { type SwiftS3, startSwiftS3, swiftInstalled } from '../support/swift-s3';
import { streamUpload } from '../support/uploads';
import { eventually } from '../support/waiting';

/**
 * Attachments with UPLOAD_STORE=s3 against a real S3 implementation: OpenStack Swift's s3api, started here on
 * loopback (`.ci/steps/27-s3.sh` installs it). Everything goes through the API; the test's own S3 client only
 * looks into the bucket. Under CI a missing Swift fails the suite, never skips it.
 */
const available = swiftInstalled() || process.env.CI === 'true';
const describeIfSwift = available ? describe : describe.skip;
if (!available)
  console.error('test/s3: skipped, Swift is not installed (bash .ci/steps/27-s3.sh installs it)');

/** 5 MiB is the smallest multipart part: a limit above it lets an upload start parts before it is cut. */
const MAX_BYTES = 6_000_000;
const PART = 5 * 1024 * 1024;

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const PDF_HEAD = Buffer.from('%PDF-1.7\n', 'latin1');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let swift: SwiftS3;
let app: Express;
const s3Env = () => ({
  UPLOAD_STORE: 's3',
  S3_BUCKET: swift.bucket,
  S3_REGION: 'us-east-1',
  S3_ENDPOINT: swift.endpoint,
  S3_FORCE_PATH_STYLE: 'true',
  UPLOAD_MAX_BYTES: String(MAX_BYTES),
});

describeIfSwift('attachments in an S3 bucket (UPLOAD_STORE=s3, OpenStack Swift s3api)', () => {
  // The app finds its credentials where the AWS SDK looks for them on a server: the environment.
  const saved = {
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
  };
  let built: TestApp | undefined;
  beforeAll(async () => {
    swift = await startSwiftS3();
    process.env.AWS_ACCESS_KEY_ID = swift.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = swift.credentials.secretAccessKey;
    // Built here, not with useTestApp at the top: its settings name the endpoint, known once Swift runs.
    built = buildTestApp(s3Env());
    if (built.config.database.preparedStatements) await usePreparedStatements(built.db);
    app = built.app;
  }, 90_000);
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await built?.db.destroy();
    await swift?.stop();
  });

  /** Every key in the bucket under a prefix, and every multipart upload still open under it. */
  async function bucketUnder(prefix: string) {
    const objects = await swift.client.send(
      new ListObjectsV2Command({ Bucket: swift.bucket, Prefix: prefix }),
    );
    const uploads = await swift.client.send(
      new ListMultipartUploadsCommand({ Bucket: swift.bucket, Prefix: prefix }),
    );
    return {
      keys: (objects.Contents ?? []).map((object) => object.Key),
      openUploads: (uploads.Uploads ?? []).map((upload) => upload.Key),
    };
  }

  async function objectBytes(key: string): Promise<Buffer> {
    const object = await swift.client.send(new GetObjectCommand({ Bucket: swift.bucket, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  async function noteOf(account: Account) {
    const created = await request(app)
      .post('/api/v1/notes')
      .set(bearer(account))
      .send({ title: 'with files' })
      .expect(201);
    return created.body.note.id as string;
  }

  const upload = (account: Account, noteId: string, type: string, body: Buffer, filename = 'photo.png') =>
    request(app)
      .post(`/api/v1/notes/${noteId}/attachments`)
      .query({ filename })
      .set(bearer(account))
      .set('Content-Type', type)
      .send(body);

  test('DB-16: when a PNG is attached, then it is an object in the bucket under user/note/id, byte for byte', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);

    const created = await upload(account, noteId, 'image/png', PNG).expect(201);

    expect(created.body.attachment).toMatchObject({ size: PNG.length, sha256: sha256(PNG) });
    const key = `${account.userId}/${noteId}/${created.body.attachment.id}`;
    expect(await objectBytes(key)).toEqual(PNG);
    expect(await bucketUnder(`${account.userId}/`)).toEqual({ keys: [key], openUploads: [] });
  });

  test('DB-16: when it is downloaded, then the app answers 303 to a short-lived signed URL that serves the bytes as an attachment, with no token', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    const created = await upload(account, noteId, 'image/png', PNG, 'café photo.png').expect(201);

    const download = await request(app)
      .get(String(created.headers.location))
      .set(bearer(account))
      .expect(303);

    expect(download.headers['cache-control']).toBe('no-store');
    expect(download.text ?? '').toBe('');
    const location = new URL(download.headers.location!);
    expect(location.origin).toBe(swift.endpoint);
    expect(location.pathname).toBe(
      `/${swift.bucket}/${account.userId}/${noteId}/${created.body.attachment.id}`,
    );
    expect(location.searchParams.get('X-Amz-Expires')).toBe('60');
    const file = await fetch(location);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer())).toEqual(PNG);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(file.headers.get('content-disposition')).toBe(
      `attachment; filename="caf? photo.png"; filename*=UTF-8''caf%C3%A9%20photo.png`,
    );
    expect(file.headers.get('cache-control')).toBe('private, no-store');
  });

  test('when the object is asked for without the signature, or with the answer it names changed, then the bucket refuses', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    const created = await upload(account, noteId, 'image/png', PNG).expect(201);
    const signed = new URL(
      (await request(app).get(String(created.headers.location)).set(bearer(account)).expect(303)).headers
        .location!,
    );

    // Refused, whatever the server's 4xx (S3 says 403 to both; Swift 400 to the request with no signature).
    const answer = async (url: URL | string) => {
      const response = await fetch(url);
      const bytes = Buffer.from(await response.arrayBuffer());
      return { refused: response.status >= 400 && response.status < 500, file: bytes.equals(PNG) };
    };
    expect(await answer(`${signed.origin}${signed.pathname}`)).toEqual({ refused: true, file: false });
    const altered = new URL(signed);
    altered.searchParams.set('response-content-type', 'text/html');
    expect(await answer(altered)).toEqual({ refused: true, file: false });
    expect((await fetch(signed)).status).toBe(200);
  });

  test("when another user asks for someone's attachment, then 404 and no URL", async () => {
    const owner = await signUp(app);
    const other = await signUp(app);
    const noteId = await noteOf(owner);
    const created = await upload(owner, noteId, 'image/png', PNG).expect(201);

    const refused = expectProblem(
      await request(app).get(String(created.headers.location)).set(bearer(other)),
      404,
    );
    expect(JSON.stringify(refused)).not.toContain(swift.endpoint);
    expectProblem(await request(app).get(String(created.headers.location)), 401);
  });

  test('when a file is larger than one part, then it goes up in parts and is stored whole, with its size and SHA-256', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    const pdf = Buffer.concat([PDF_HEAD, Buffer.alloc(PART + 300_000, 0x20)]);

    const created = await upload(account, noteId, 'application/pdf', pdf, 'big.pdf').expect(201);

    expect(created.body.attachment).toMatchObject({ size: pdf.length, sha256: sha256(pdf) });
    const key = `${account.userId}/${noteId}/${created.body.attachment.id}`;
    expect(sha256(await objectBytes(key))).toBe(sha256(pdf));
    expect((await bucketUnder(`${account.userId}/`)).openUploads).toEqual([]);
  });

  test('when a streamed file passes UPLOAD_MAX_BYTES after a part went up, then 413 and neither an object nor an open multipart upload is left', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    const chunks = [PDF_HEAD, ...Array.from({ length: 7 }, () => Buffer.alloc(1_000_000, 0x20))];

    const cut = await streamUpload(app, account, noteId, chunks, {
      name: 'streamed.pdf',
      type: 'application/pdf',
    });

    expect(cut).toEqual({ status: 413, type: '/problems/body-too-large' });
    // The first part went up before the limit was passed; the multipart upload was then aborted.
    expect(swift.requestsUnder(`${account.userId}/${noteId}/`)).toEqual([
      'POST uploads',
      'PUT partNumber uploadId',
      'DELETE uploadId',
    ]);
    expect(await bucketUnder(`${account.userId}/`)).toEqual({ keys: [], openUploads: [] });
    const declared = await upload(account, noteId, 'application/pdf', Buffer.concat(chunks), 'x.pdf');
    expectProblem(declared, 413);
    expect(await bucketUnder(`${account.userId}/`)).toEqual({ keys: [], openUploads: [] });
  });

  test('when the client goes away after a part went up, then the multipart upload is aborted and nothing is left', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/notes/${noteId}/attachments?filename=gone.pdf`,
        headers: { Authorization: `Bearer ${account.token}`, 'Content-Type': 'application/pdf' },
      });
      req.on('error', () => undefined);
      req.write(PDF_HEAD);
      for (let sent = 0; sent < PART + 500_000; sent += 100_000)
        if (!req.write(Buffer.alloc(100_000, 0x20))) await once(req, 'drain');
      await eventually(async () =>
        expect(swift.requestsUnder(`${account.userId}/${noteId}/`)).toContain('PUT partNumber uploadId'),
      );

      req.destroy();

      await eventually(async () =>
        expect(swift.requestsUnder(`${account.userId}/${noteId}/`)).toContain('DELETE uploadId'),
      );
      expect(await bucketUnder(`${account.userId}/`)).toEqual({ keys: [], openUploads: [] });
      expect(await built!.db('note_attachments').where({ note_id: noteId }).first()).toBeUndefined();
    } finally {
      server.close();
    }
  });

  test('when a file claims a type its content does not have, then 415 and nothing is in the bucket', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);

    expectProblem(await upload(account, noteId, 'image/png', Buffer.from('<script>alert(1)</script>')), 415);

    expect(await bucketUnder(`${account.userId}/`)).toEqual({ keys: [], openUploads: [] });
  });

  test('DB-16: when an attachment, its note or its owner is deleted, then its objects are deleted from the bucket', async () => {
    const account = await signUp(app);
    const [first, second] = [await noteOf(account), await noteOf(account)];
    const a = (await upload(account, first, 'image/png', PNG).expect(201)).body.attachment.id;
    const b = (await upload(account, first, 'image/png', PNG).expect(201)).body.attachment.id;
    const c = (await upload(account, second, 'image/png', PNG).expect(201)).body.attachment.id;
    const keyOf = (noteId: string, id: string) => `${account.userId}/${noteId}/${id}`;

    await request(app).delete(`/api/v1/notes/${first}/attachments/${a}`).set(bearer(account)).expect(204);
    expect((await bucketUnder(`${account.userId}/`)).keys.sort()).toEqual(
      [keyOf(first, b), keyOf(second, c)].sort(),
    );

    await request(app).delete(`/api/v1/notes/${first}`).set(bearer(account)).expect(204);
    expect((await bucketUnder(`${account.userId}/`)).keys).toEqual([keyOf(second, c)]);

    await request(app)
      .delete('/api/v1/users/me')
      .set(bearer(account))
      .send({ password: account.password })
      .expect(204);
    expect(await bucketUnder(`${account.userId}/`)).toEqual({ keys: [], openUploads: [] });
  });

  test('DB-16: when the retention purge deletes a never-verified account, then its objects leave the bucket too', async () => {
    const account = await signUp(app);
    const kept = await signUp(app);
    await upload(account, await noteOf(account), 'image/png', PNG).expect(201);
    await upload(kept, await noteOf(kept), 'image/png', PNG).expect(201);
    await built!
      .db('users')
      .where({ id: account.userId })
      .update({ created_at: built!.db.raw("now() - interval '8 days'") });

    // The store the purge job and `node dist/cli/purge.js` build from the same settings.
    const files = fileStoreFor(built!.config.uploads);
    const purged = await purgeExpiredData(
      built!.db,
      { sessionRetentionDays: 30, unverifiedAccountRetentionDays: 7 },
      files,
    );

    expect(purged.accounts).toBe(1);
    expect(await bucketUnder(`${account.userId}/`)).toEqual({ keys: [], openUploads: [] });
    expect((await bucketUnder(`${kept.userId}/`)).keys).toHaveLength(1);
  });

  test('when an account with more objects than one listing page is erased, then every page of them goes', async () => {
    // The same app and database, with a store that lists 5 keys a page, so 12 objects take three pages.
    const paged = createApp({
      config: built!.config,
      db: built!.db,
      logger: createLogger({ level: 'silent', pretty: false }),
      files: s3FileStore(built!.config.uploads.s3, { listPageSize: 5 }),
    });
    const account = await signUp(paged);
    const noteId = await noteOf(account);
    await Promise.all(
      Array.from({ length: 12 }, () => upload(account, noteId, 'image/png', PNG).expect(201)),
    );
    expect((await bucketUnder(`${account.userId}/`)).keys).toHaveLength(12);

    await request(paged)
      .delete('/api/v1/users/me')
      .set(bearer(account))
      .send({ password: account.password })
      .expect(204);

    expect((await bucketUnder(`${account.userId}/`)).keys).toEqual([]);
  });

  test("when S3_BUCKET names a bucket the server does not have, then an upload is a 500 (the operator's to fix), not the client's 404", async () => {
    const misnamed = createApp({
      config: built!.config,
      db: built!.db,
      logger: createLogger({ level: 'silent', pretty: false }),
      files: s3FileStore({ ...built!.config.uploads.s3, bucket: 'no-such-bucket' }),
    });
    const account = await signUp(misnamed);
    const noteId = await noteOf(account);

    const refused = await request(misnamed)
      .post(`/api/v1/notes/${noteId}/attachments`)
      .query({ filename: 'photo.png' })
      .set(bearer(account))
      .set('Content-Type', 'image/png')
      .send(PNG);

    expect(expectProblem(refused, 500).type).toBe('/problems/internal-error');
  });

  test('when the export is asked for, then it lists the attachments in the bucket', async () => {
    const account = await signUp(app);
    const noteId = await noteOf(account);
    await upload(account, noteId, 'image/png', PNG).expect(201);

    const exported = await request(app).get('/api/v1/users/me/export').set(bearer(account)).expect(200);

    expect(exported.body.attachments).toEqual([
      expect.objectContaining({ noteId, filename: 'photo.png', size: PNG.length, sha256: sha256(PNG) }),
    ]);
  });
});
