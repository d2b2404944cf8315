import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createDatabase } from '../src/db/knex';
import { createLogger } from '../src/observability/logger';
import { useTestApp } from './support/harness';

/** The OpenAPI document passes a real validator and linter, and states what the server really accepts. */
const { app } = useTestApp();

const dir = mkdtempSync(join(tmpdir(), 'shipshape-openapi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ProblemResponse {
  content: { 'application/problem+json': { schema: { allOf: unknown[] } } };
}

interface LintResult {
  errors: number;
  warnings: number;
  problems: { rule: string; message: string; where: string }[];
}

function lint(document: unknown, name: string): Promise<LintResult> {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(document));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['scripts/lint-openapi.mjs', file], { timeout: 60_000 }, (error, stdout) => {
      if (stdout.trim()) resolve(JSON.parse(stdout) as LintResult);
      else reject(error ?? new Error('the linter printed nothing'));
    });
  });
}

async function fetchDocument() {
  return (await request(app).get('/api/v1/openapi.json').expect(200)).body;
}

describe('the OpenAPI document', () => {
  test("when it is validated and linted with Redocly's recommended-strict rules, then there are no errors and no warnings", async () => {
    const result = await lint(await fetchDocument(), 'openapi.json');
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ errors: 0, warnings: 0 });
  });

  test('when a copy is broken on purpose, then the same linter reports it (the check can fail)', async () => {
    const broken = await fetchDocument();
    delete broken.info.license;
    delete broken.paths['/api/v1/notes'].get.operationId;
    broken.paths['/api/v1/notes'].get.responses['200'].content['application/json'].schema.type = 'thing';
    const result = await lint(broken, 'broken.json');
    expect(result.problems.map((p) => p.rule).sort()).toEqual([
      'info-license',
      'operation-operationId',
      'struct',
    ]);
  });

  test('when it is read, then public operations say security: [] and every operation has an operationId', async () => {
    const document = await fetchDocument();
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item as object));
    expect(operations.map((op) => op.operationId).sort()).toEqual([
      'changeMyEmail',
      'changeMyPassword',
      'confirmEmailChange',
      'confirmPasswordReset',
      'createNote',
      'deleteAttachment',
      'deleteMyAccount',
      'deleteNote',
      'downloadAttachment',
      'exportMyData',
      'getCurrentUser',
      'getNote',
      'listAttachments',
      'listMySessions',
      'listNotes',
      'listUsers',
      'login',
      'logout',
      'register',
      'requestPasswordReset',
      'resendVerificationEmail',
      'revokeMyOtherSessions',
      'revokeMySession',
      'updateNote',
      'updateUser',
      'uploadAttachment',
      'verifyEmail',
    ]);
    expect(document.paths['/api/v1/auth/register'].post.security).toEqual([]);
    expect(document.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(document.info.license).toMatchObject({ name: 'MIT' });
    expect(document.info.contact).toEqual(expect.any(Object));
  });

  test('when it is read, then each operation documents the statuses the server can send it, with the problem schema', async () => {
    const document = await fetchDocument();
    const common = ['400', '405', '413', '415', '429', '500', '503'];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(
        item as Record<string, { responses: Record<string, ProblemResponse> }>,
      )) {
        const statuses = Object.keys(op.responses);
        expect({ path, method, missing: common.filter((s) => !statuses.includes(s)) }).toEqual({
          path,
          method,
          missing: [],
        });
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          expect(op.responses[status]!.content['application/problem+json'].schema.allOf[0]).toEqual({
            $ref: '#/components/schemas/Problem',
          });
        }
      }
    }
    for (const [path, method] of [
      ['/api/v1/notes', 'post'],
      ['/api/v1/notes/{id}', 'patch'],
      ['/api/v1/notes/{id}', 'delete'],
      ['/api/v1/auth/logout', 'post'],
    ] as const) {
      const { responses } = document.paths[path]![method];
      expect(responses['401']).toBeDefined();
      expect(responses['403'].content['application/problem+json'].schema.properties.type.enum).toEqual([
        '/problems/csrf-rejected',
      ]);
    }
    expect(Object.keys(document.paths['/api/v1/notes'].get.responses)).toEqual(
      expect.arrayContaining(['401', '422']),
    );
  });

  test('when it is read, then the schemas refuse what the server refuses', async () => {
    const document = await fetchDocument();
    const limit = document.paths['/api/v1/notes'].get.parameters.find(
      (p: { name: string }) => p.name === 'limit',
    );
    expect(limit.schema).toEqual({ type: 'integer', minimum: 1, maximum: 100, default: 20 });
    const cursor = document.paths['/api/v1/notes'].get.parameters.find(
      (p: { name: string }) => p.name === 'cursor',
    );
    expect(cursor.schema).toMatchObject({
      type: 'string',
      pattern: '^[A-Za-z0-9_-]+$',
      description: expect.stringMatching(/opaque/i),
    });
    const register =
      document.paths['/api/v1/auth/register'].post.requestBody.content['application/json'].schema;
    expect(register.properties.email).toMatchObject({ format: 'email', maxLength: 254 });
    const patch = document.paths['/api/v1/notes/{id}'].patch.requestBody.content['application/json'].schema;
    expect(patch).toMatchObject({ minProperties: 1, additionalProperties: false });
    expect(patch.properties.title).toMatchObject({
      pattern: '\\S',
      maxLength: 200,
      description: expect.stringMatching(/whitespace/),
    });
  });

  test('when it is read, then a download documents both answers: the file (local store) and 303 to a signed URL (S3 store)', async () => {
    const document = await fetchDocument();
    const { responses } = document.paths['/api/v1/notes/{id}/attachments/{attachmentId}'].get;
    expect(Object.keys(responses['200'].content)).toContain('image/png');
    expect(responses['303']).toMatchObject({
      description: expect.stringMatching(/Location/),
      headers: { Location: { required: true, schema: { type: 'string' } } },
    });
    expect(responses['303'].content).toBeUndefined();
  });

  test('when the configuration is strict (staging, production), then the cookie scheme names the __Host- cookie', async () => {
    const config = loadConfig({
      APP_ENV: 'production',
      SECRET_KEY: randomBytes(48).toString('base64url'),
      DATABASE_URL: 'postgres://app:unused@127.0.0.1:1/app',
      TRUST_PROXY: '1',
    });
    const db = createDatabase({ url: config.database.url!, poolMin: 0, poolMax: 1 });
    try {
      const production = createApp({ config, db, logger: createLogger({ level: 'silent', pretty: false }) });
      const { body } = await request(production).get('/api/v1/openapi.json').expect(200);
      expect(body.components.securitySchemes.session).toMatchObject({ in: 'cookie', name: '__Host-session' });
      const { body: local } = await request(app).get('/api/v1/openapi.json').expect(200);
      expect(local.components.securitySchemes.session).toMatchObject({ in: 'cookie', name: 'session' });
    } finally {
      await db.destroy();
    }
  });
});
