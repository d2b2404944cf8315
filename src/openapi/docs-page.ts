import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type RequestHandler, Router } from 'express';

/**
 * The one page that is a document rather than data, so it gets a policy of its own: scripts and styles from
 * this origin only (Swagger UI sets inline style attributes, hence 'unsafe-inline' for styles and nothing
 * else), calls to this origin only ("try it"), no frames, no forms elsewhere. Every other path keeps the API's
 * `default-src 'none'`.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = (base: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shipshape API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${base}/swagger-ui-bundle.js"></script>
<script src="${base}/init.js"></script>
</body>
</html>
`;

/** Swagger UI's own start-up, as a file: the policy allows no inline script. */
const INIT = (documentUrl: string) => `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(documentUrl)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

/**
 * Interactive API docs (Swagger UI from the pinned swagger-ui-dist package, served by the app: no CDN) for
 * the document at documentUrl. Mounted at base; the files are read once, when the app is built.
 */
export function apiDocsPage({ base, documentUrl }: { base: string; documentUrl: string }): Router {
  const dist = dirname(require.resolve('swagger-ui-dist/package.json'));
  const files: Record<string, { type: string; body: Buffer | string }> = {
    '/': { type: 'text/html; charset=utf-8', body: PAGE(base) },
    '/init.js': { type: 'text/javascript; charset=utf-8', body: INIT(documentUrl) },
    '/swagger-ui.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(dist, 'swagger-ui.css')) },
    '/swagger-ui-bundle.js': {
      type: 'text/javascript; charset=utf-8',
      body: readFileSync(join(dist, 'swagger-ui-bundle.js')),
    },
  };
  const router = Router({ strict: false });
  for (const [path, file] of Object.entries(files)) {
    const serve: RequestHandler = (_req, res) => {
      res.setHeader('Content-Security-Policy', DOCS_CSP);
      res.type(file.type).send(file.body);
    };
    router.get(path, serve);
  }
  return router;
}
