import express, { type Express } from 'express';
import type { Knex } from 'knex';
import type { Config } from './config/index.js';
import { shippedMigrations } from './db/migrations.js';
import { authenticate } from './features/accounts/authenticate.js';
import { accountRoutes } from './features/accounts/routes.js';
import { noteRoutes } from './features/notes/routes.js';
import { Lifecycle } from './health/lifecycle.js';
import { isHealthPath } from './health/paths.js';
import { mountHealthRoutes } from './health/routes.js';
import { jsonBody } from './http/body.js';
import { errorHandler } from './http/error-handler.js';
import { sendJson } from './http/json-response.js';
import { notFound } from './http/problem.js';
import { authRateLimit, generalRateLimit, type RedisCommander } from './http/rate-limit.js';
import { dropLateErrors } from './http/request-deadline.js';
import { requestEnvelope } from './http/request-envelope.js';
import { mountRoutes } from './http/routes.js';
import { corsPolicy, securityHeaders } from './http/security.js';
import { rememberMountPath } from './observability/http-metrics.js';
import type { Logger } from './observability/logger.js';
import type { AppMetrics } from './observability/metrics.js';
import { sentryEnabled, sentryRequestScope } from './observability/sentry.js';
import { apiDocsPage } from './openapi/docs-page.js';
import { buildOpenApiDocument } from './openapi/document.js';

export const API_BASE = '/api/v1';

export interface AppDeps {
  config: Config;
  db: Knex;
  logger: Logger;
  lifecycle?: Lifecycle;
  /** A connected Redis client: rate-limit counters shared by every process. */
  redis?: RedisCommander;
  /** Unexpected (5xx) errors only, e.g. for Sentry. */
  onUnexpectedError?: (error: unknown, context: { requestId: string }) => void;
  onRateLimited?: (limiter: string) => void;
  version?: string;
  /** Prometheus counters and histograms for every request; absent in most tests. */
  metrics?: AppMetrics;
}

/** Assembles the app from its dependencies; no globals, so tests build it on a real database. */
export function createApp(deps: AppDeps): Express {
  const { config, db, logger } = deps;
  const lifecycle = deps.lifecycle ?? new Lifecycle();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // API JSON is personal and no-store: hashing every body buys nothing
  app.set('trust proxy', config.http.trustProxy);
  app.response.json = sendJson;

  const routes = [
    ...accountRoutes({
      db,
      registrationOpen: config.features.registration,
      tokenTtlSeconds: config.auth.tokenTtlSeconds,
      secretKey: config.secretKey,
      cookieName: config.auth.cookieName,
      csrfCookieName: config.auth.csrfCookieName,
    }),
    ...noteRoutes({ db }),
  ];
  const limits = { redis: deps.redis, onLimited: deps.onRateLimited };

  app.use(
    requestEnvelope({
      logger, // one access line per request
      isQuiet: isHealthPath,
      metrics: deps.metrics,
      applySecurityHeaders: securityHeaders({ hsts: config.strict }),
      requestTimeoutMs: config.http.requestTimeoutMs, // 503 rather than a hang
    }),
  );
  if (sentryEnabled()) app.use(sentryRequestScope());
  mountHealthRoutes(app, { db, lifecycle, shippedMigrations: shippedMigrations() });
  app.use(corsPolicy(config.cors.origins));
  app.use(
    '/api',
    generalRateLimit({ windowMs: config.rateLimit.windowMs, max: config.rateLimit.max, ...limits }),
  );
  app.use('/api', jsonBody(config.http.bodyLimitBytes));
  app.use(
    `${API_BASE}/auth`,
    authRateLimit({ windowMs: config.rateLimit.authWindowMs, max: config.rateLimit.authMax, ...limits }),
  );

  const api = express.Router();
  api.use(rememberMountPath()); // route labels read '/api/v1/notes/:id'
  if (config.features.openapi) {
    const document = buildOpenApiDocument(routes, {
      version: deps.version ?? '0.0.0',
      basePath: API_BASE,
      cookieName: config.auth.cookieName,
    });
    api.get('/openapi.json', (_req, res) => {
      res.json(document);
    });
    if (config.features.apiDocs) {
      api.use('/docs', apiDocsPage({ base: `${API_BASE}/docs`, documentUrl: `${API_BASE}/openapi.json` }));
    }
  }
  mountRoutes(
    api,
    routes,
    authenticate({
      db,
      secretKey: config.secretKey,
      cookieName: config.auth.cookieName,
      allowedOrigins: config.cors.origins,
    }),
  );
  app.use(API_BASE, api);

  app.use((_req, _res, next) => next(notFound()));
  app.use(dropLateErrors());
  app.use(errorHandler({ logger, debug: config.debug, onUnexpectedError: deps.onUnexpectedError }));
  return app;
}
