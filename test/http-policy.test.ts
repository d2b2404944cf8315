import express from 'express';
import request from 'supertest';
import { errorHandler } from '../src/http/error-handler';
import { requestId } from '../src/http/request-id';
import { createLogger } from '../src/observability/logger';
import { bearer, expectProblem, newPassword, signUp, uniqueEmail, useTestApp } from './support/harness';

const { app } = useTestApp({ CORS_ORIGINS: 'https://app.example.test' });

describe('SEC-5, SEC-8: security headers', () => {
  test.each(['/api/v1/notes', '/health', '/no/such/route', '/api/v1/openapi.json'])(
    'when %s is requested, then the API security headers are set and no framework is named',
    async (path) => {
      const response = await request(app).get(path);
      expect(response.headers).toMatchObject({
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'permissions-policy': expect.stringContaining('camera=()'),
        'cache-control': 'no-store',
      });
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(response.headers.etag).toBeUndefined();
      // helmet's document-only headers are left out for a JSON API (src/http/security.ts).
      for (const legacy of ['x-xss-protection', 'x-download-options', 'x-dns-prefetch-control'])
        expect(response.headers[legacy]).toBeUndefined();
      // HSTS belongs to the strict environments only: a development browser must not pin localhost to HTTPS.
      expect(response.headers['strict-transport-security']).toBeUndefined();
    },
  );
});

describe('JSON responses', () => {
  test('when a JSON endpoint is asked with HEAD, then the GET headers with its Content-Length and no body', async () => {
    const get = await request(app).get('/health/live');
    const head = await request(app).head('/health/live');
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(get.body))));
    expect(head.text).toBeUndefined();
  });

  test('when a body holds non-ASCII text, then Content-Length counts its UTF-8 bytes', async () => {
    const account = await signUp(app);
    const title = 'Grüße, 東京 🚀';
    const created = await request(app).post('/api/v1/notes').set(bearer(account)).send({ title });
    expect(created.status).toBe(201);
    expect(Number(created.headers['content-length'])).toBe(Buffer.byteLength(created.text));
    expect(created.body.note.title).toBe(title);
  });
});

describe('routing', () => {
  test('when a route does not exist, then 404 problem+json', async () => {
    expectProblem(await request(app).get('/api/v1/nothing-here'), 404);
    expectProblem(await request(app).post('/wp-login.php'), 404);
  });

  test('when a known path is called with the wrong method, then 405 with Allow', async () => {
    const response = await request(app).put('/api/v1/notes');
    expectProblem(response, 405);
    expect(response.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    const login = await request(app).get('/api/v1/auth/login');
    expectProblem(login, 405);
    expect(login.headers.allow).toBe('POST, OPTIONS');
  });
});

describe('OBS-1: request ids', () => {
  test('when the caller sends a well-formed X-Request-Id, then it is echoed and quoted in problems', async () => {
    const response = await request(app).get('/api/v1/notes').set('X-Request-Id', 'edge-1234abcd');
    expect(response.headers['x-request-id']).toBe('edge-1234abcd');
    expect(response.body.requestId).toBe('edge-1234abcd');
  });

  test.each(['short', 'has spaces in it', 'log;injection=1', '<script>alert(1)</script>', 'x'.repeat(200)])(
    'when the caller sends the malformed id %p, then a fresh one replaces it',
    async (offered) => {
      const response = await request(app).get('/health/live').set('X-Request-Id', offered);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    },
  );
});

describe('SEC-1: CORS', () => {
  test('when a listed origin preflights, then it is allowed with credentials', async () => {
    const response = await request(app)
      .options('/api/v1/notes')
      .set('Origin', 'https://app.example.test')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example.test');
    expect(response.headers['access-control-allow-credentials']).toBe('true');
    expect(response.headers['access-control-allow-methods']).toContain('PATCH');
  });

  test('when an unlisted origin calls, then no CORS header lets the browser read the answer', async () => {
    for (const origin of [
      'https://evil.example',
      'null',
      'http://app.example.test',
      'https://app.example.test.evil.example',
    ]) {
      const response = await request(app).get('/health/live').set('Origin', origin);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      expect(response.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });
});

describe('SEC-2: rate limits', () => {
  const limited = useTestApp({ RATE_LIMIT_MAX: '5', AUTH_RATE_LIMIT_MAX: '3' });

  test('when a client exceeds the general limit, then 429 with RateLimit and Retry-After, and probes still answer', async () => {
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await request(limited.app).get('/api/v1/notes');
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expectProblem(last!, 429);
    expect(last!.headers['retry-after']).toMatch(/^\d+$/);
    expect(last!.headers.ratelimit).toMatch(/"general"; r=0; t=\d+/);
    expect(last!.headers['ratelimit-policy']).toMatch(/q=5/);
    for (let i = 0; i < 10; i++) await request(limited.app).get('/health/live').expect(200);
  });

  test('when one email is tried too often at login, then 429 for it while another email still gets tried', async () => {
    const strict = useAuthLimitedApp();
    const email = uniqueEmail();
    const tries = [];
    for (let i = 0; i < 4; i++) {
      tries.push(
        (await request(strict.app).post('/api/v1/auth/login').send({ email, password: newPassword() }))
          .status,
      );
    }
    expect(tries).toEqual([401, 401, 401, 429]);
    const other = await request(strict.app)
      .post('/api/v1/auth/login')
      .send({ email: uniqueEmail(), password: newPassword() });
    expect(other.status).toBe(401);
  });
});

// A second app per test keeps its counters fresh; built at the top level so jest can close its pool.
const authLimited = useTestApp({ AUTH_RATE_LIMIT_MAX: '3' });
const useAuthLimitedApp = () => authLimited;

describe('SEC-2, PXY-5: client address behind a proxy', () => {
  const direct = useTestApp({ RATE_LIMIT_MAX: '2', TRUST_PROXY: 'false' });
  const proxied = useTestApp({ RATE_LIMIT_MAX: '2', TRUST_PROXY: '1' });

  test('when TRUST_PROXY is false, then a forged X-Forwarded-For does not buy a fresh quota', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await request(direct.app).get('/api/v1/notes').set('X-Forwarded-For', `203.0.113.${i}`)).status,
      );
    }
    expect(statuses).toEqual([401, 401, 429]);
  });

  test('when TRUST_PROXY is 1, then each client address the proxy reports is counted on its own', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await request(proxied.app).get('/api/v1/notes').set('X-Forwarded-For', `198.51.100.${i}`)).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401]);
  });
});

describe('OpenAPI', () => {
  test('when the document is fetched, then it is OpenAPI 3.1 and describes every route with its schemas', async () => {
    const { body } = await request(app).get('/api/v1/openapi.json').expect(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths).sort()).toEqual([
      '/api/v1/admin/users',
      '/api/v1/admin/users/{id}',
      '/api/v1/auth/confirm-email-change',
      '/api/v1/auth/login',
      '/api/v1/auth/logout',
      '/api/v1/auth/password-reset',
      '/api/v1/auth/password-reset/confirm',
      '/api/v1/auth/register',
      '/api/v1/auth/verify-email',
      '/api/v1/auth/verify-email/resend',
      '/api/v1/notes',
      '/api/v1/notes/{id}',
      '/api/v1/notes/{id}/attachments',
      '/api/v1/notes/{id}/attachments/{attachmentId}',
      '/api/v1/users/me',
      '/api/v1/users/me/email',
      '/api/v1/users/me/export',
      '/api/v1/users/me/password',
      '/api/v1/users/me/sessions',
      '/api/v1/users/me/sessions/{id}',
    ]);
    const register = body.paths['/api/v1/auth/register'].post;
    const schema = register.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['email', 'password']));
    expect(schema.properties.password).toMatchObject({ minLength: 12, maxLength: 128 });
    expect(schema.additionalProperties).toBe(false);
    const list = body.paths['/api/v1/notes'].get;
    expect(list.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'limit', in: 'query' })]),
    );
    expect(list.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(body.paths['/api/v1/notes/{id}'].get.parameters[0]).toMatchObject({
      name: 'id',
      in: 'path',
      required: true,
    });
  });
});

describe('SEC-8: unexpected errors', () => {
  const crash = (debug: boolean) => {
    const broken = express();
    broken.use(requestId());
    broken.get('/boom', () => {
      throw new Error('select secret from internals where password = hunter2');
    });
    broken.use(errorHandler({ logger: createLogger({ level: 'silent', pretty: false }), debug }));
    return broken;
  };

  test('when a handler throws, then a generic 500 problem that names no internals', async () => {
    const response = await request(crash(false)).get('/boom');
    const body = expectProblem(response, 500);
    expect(JSON.stringify(body)).not.toMatch(/hunter2|internals|select|\bat /);
  });

  test('when DEBUG is on (development only), then the 500 carries the message and stack for the developer', async () => {
    const response = await request(crash(true)).get('/boom');
    expect(response.status).toBe(500);
    expect(response.body.debug.message).toContain('hunter2');
    expect(response.body.debug.stack).toContain('http-policy.test.ts');
  });

  test('when a signed-up user sends a valid request, then no problem at all (the suite can tell success)', async () => {
    const account = await signUp(app);
    await request(app).get('/api/v1/users/me').set(bearer(account)).expect(200);
  });
});
