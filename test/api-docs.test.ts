import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { buildTestApp, useTestApp } from './support/harness';

/** Interactive API docs at /api/v1/docs: on in development and testing, off in production unless switched on. */
const { app } = useTestApp();

const strictEnv = (extra: Record<string, string> = {}) => ({
  APP_ENV: 'production',
  SECRET_KEY: randomBytes(48).toString('base64url'),
  TRUST_PROXY: '1',
  ...extra,
});

describe('interactive API docs', () => {
  test('when /api/v1/docs is requested in testing, then Swagger UI is served from this app with a policy of its own', async () => {
    const page = await request(app).get('/api/v1/docs').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('/api/v1/docs/swagger-ui-bundle.js');
    expect(page.text).not.toMatch(/https?:\/\//); // no CDN
    expect(page.text).not.toMatch(/<script>[^<]/); // no inline script
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);

    for (const file of ['swagger-ui-bundle.js', 'init.js', 'swagger-ui.css']) {
      const asset = await request(app).get(`/api/v1/docs/${file}`).expect(200);
      expect(asset.headers['content-security-policy']).toBe(csp);
    }
    const init = await request(app).get('/api/v1/docs/init.js').expect(200);
    expect(init.text).toContain('"/api/v1/openapi.json"');
  });

  test('when any other path is requested, then the strict API policy still applies', async () => {
    for (const path of ['/api/v1/notes', '/api/v1/openapi.json', '/api/v1/docs/nothing-here', '/health']) {
      const response = await request(app).get(path);
      expect(response.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    }
  });

  test('when the configuration is production, then the docs are off unless FEATURE_API_DOCS turns them on', async () => {
    const off = buildTestApp(strictEnv());
    const on = buildTestApp(strictEnv({ FEATURE_API_DOCS: 'true' }));
    try {
      expect(off.config.features.apiDocs).toBe(false);
      await request(off.app).get('/api/v1/docs').expect(404);
      await request(on.app).get('/api/v1/docs').expect(200);
      // The document itself is not switched off with the page.
      await request(off.app).get('/api/v1/openapi.json').expect(200);
    } finally {
      await Promise.all([off.db.destroy(), on.db.destroy()]);
    }
  });
});
