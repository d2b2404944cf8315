import type { ServerResponse } from 'node:http';
import cors from 'cors';
import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** An API serves no documents, so its policy forbids everything a browser could load or frame. */
const PERMISSIONS_POLICY = [
  'accelerometer=()',
  'camera=()',
  'geolocation=()',
  'gyroscope=()',
  'magnetometer=()',
  'microphone=()',
  'payment=()',
  'usb=()',
  'interest-cohort=()',
].join(', ');

/**
 * helmet's headers depend on nothing in the request (no nonces, no functions), so they are worked out once
 * at start-up by running helmet against a recording response; each response then copies a fixed list.
 */
function headersOf(middleware: RequestHandler): { set: [string, string][]; removed: string[] } {
  const set: [string, string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number) => set.push([name, String(value)]),
    removeHeader: (name: string) => removed.push(name),
  };
  let finished = false;
  middleware({} as Request, recorder as unknown as Response, () => {
    finished = true;
  });
  if (!finished) throw new Error('helmet did not finish synchronously: its headers cannot be fixed once');
  return { set, removed };
}

/** Copies the fixed security headers onto a response. */
export type ApplySecurityHeaders = (res: ServerResponse) => void;

/**
 * Security headers for a JSON API, HSTS where HTTPS is certain, no cached personal data.
 * helmet's defaults are written for HTML pages; five of them only ever mattered to documents in browsers
 * that are gone (X-XSS-Protection for the removed XSS auditor, X-Download-Options for IE8's "open" button,
 * X-DNS-Prefetch-Control and Origin-Agent-Cluster for pages, X-Permitted-Cross-Domain-Policies for Flash and
 * Acrobat). They are left out: a JSON response with nosniff and `default-src 'none'` cannot run or embed
 * anything, and each header is paid on every response (OWASP REST Security Cheat Sheet, "Security headers").
 */
export function securityHeaders({ hsts }: { hsts: boolean }): ApplySecurityHeaders {
  const { set, removed } = headersOf(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      crossOriginResourcePolicy: { policy: 'same-site' },
      strictTransportSecurity: hsts ? { maxAge: 63_072_000, includeSubDomains: true, preload: true } : false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      xPoweredBy: false, // never set in the first place: app.disable('x-powered-by')
    }),
  );
  const headers: [string, string][] = [
    ...set,
    ['Permissions-Policy', PERMISSIONS_POLICY],
    // Responses carry account data; no shared cache or browser history may keep them (static files,
    // which can be cached, are nginx's).
    ['Cache-Control', 'no-store'],
  ];
  return (res) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
  };
}

/**
 * CORS from an explicit allow-list: listed origins get credentials, every other origin gets no
 * CORS headers at all, so the browser blocks it. Preflights are answered here with 204.
 */
export function corsPolicy(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  return cors((req, callback) => {
    const origin = req.headers.origin;
    if (!origin || !allowed.has(origin)) return callback(null, { origin: false });
    callback(null, {
      origin: true,
      credentials: true,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'X-CSRF-Token'],
      exposedHeaders: ['Location', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After'],
      maxAge: 600,
    });
  });
}
