import express, { type Express } from 'express';
import type { Knex } from 'knex';
import type { Config } from './config/index.js';
import { shippedMigrations } from './db/migrations.js';
import { ReadRouting } from './db/read-routing.js';
import { authenticate, requireRole } from './features/accounts/authenticate.js';
import { lockoutMail } from './features/accounts/mails.js';
import { accountRoutes } from './features/accounts/routes.js';
import type { SessionCache } from './features/accounts/session-cache.js';
import { adminRoutes } from './features/admin/routes.js';
import { attachmentRoutes, readsOwnBody } from './features/attachments/routes.js';
import { credentialsRoutes } from './features/credentials/routes.js';
import { noteRoutes } from './features/notes/routes.js';
import { privacyRoutes } from './features/privacy/routes.js';
import { recoveryRoutes } from './features/recovery/routes.js';
import { sessionRoutes } from './features/sessions/routes.js';
import { verificationRoutes } from './features/verification/routes.js';
import { mailVerification } from './features/verification/service.js';
import { Lifecycle } from './health/lifecycle.js';
import { isHealthPath } from './health/paths.js';
import { answerAlive, mountHealthRoutes } from './health/routes.js';
import { jsonBody } from './http/body.js';
import { errorHandler } from './http/error-handler.js';
import { installFrontDoor } from './http/front-door.js';
import { sendJson } from './http/json-response.js';
import { notFound } from './http/problem.js';
import { authRateLimit, generalRateLimit, type RedisCommander } from './http/rate-limit.js';
import { dropLateErrors } from './http/request-deadline.js';
import { requestEnvelope } from './http/request-envelope.js';
import { mountRoutes } from './http/routes.js';
import { corsPolicy, securityHeaders } from './http/security.js';
import type { MailMessage } from './mail/mailer.js';
import { businessEvents } from './observability/business-events.js';
import { rememberMountPath } from './observability/http-metrics.js';
import type { Logger } from './observability/logger.js';
import type { AppMetrics } from './observability/metrics.js';
import { sentryEnabled, sentryRequestScope } from './observability/sentry.js';
import { apiDocsPage } from './openapi/docs-page.js';
import { buildOpenApiDocument } from './openapi/document.js';
import { type FileStore, fileStoreFor } from './storage/files.js';

export const API_BASE = '/api/v1';

export interface AppDeps {
  config: Config;
  db: Knex;
  /** A streaming replica for reads that tolerate lag (DATABASE_REPLICA_URL); none: every read on db. */
  replica?: Knex;
  logger: Logger;
  lifecycle?: Lifecycle;
  /** Active sessions in memory while their changes can be heard (SESSION_CACHE_SECONDS); none: always read. */
  sessionCache?: SessionCache;
  /** A connected Redis client: rate-limit counters shared by every process. */
  redis?: RedisCommander;
  /** Unexpected (5xx) errors only, e.g. for Sentry. */
  onUnexpectedError?: (error: unknown, context: { requestId: string }) => void;
  onRateLimited?: (limiter: string) => void;
  /**
   * Hands a message to the job queue (never sent in the request); absent where no queue runs. The key makes
   * a repeated enqueue of the same message a no-op.
   */
  sendMail?: (message: MailMessage, key: string) => Promise<void>;
  /** Where attachments are stored; by default the store UPLOAD_STORE names (the directory UPLOAD_DIR, or S3_BUCKET). */
  files?: FileStore;
  /** A request counted in this process because Redis could not be used. */
  onRateLimitFallback?: (limiter: string) => void;
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

  const files = deps.files ?? fileStoreFor(config.uploads);
  const events = businessEvents({
    logger,
    secretKey: config.secretKey,
    counter: deps.metrics?.businessEvents,
  });
  const verification = {
    db,
    logger,
    sendMail: deps.sendMail,
    appUrl: config.auth.appUrl,
    ttlHours: config.auth.emailConfirmationTtlHours,
  };
  const routes = [
    ...accountRoutes({
      db,
      events,
      requireVerifiedEmail: config.auth.requireVerifiedEmail,
      // Never fails the sign-up or login that asks: a lost mail is asked for again (resend, or the next login).
      mailVerification: (user) =>
        mailVerification(verification, user).then(
          () => {},
          (error: unknown) => logger.warn({ err: error, userId: user.id }, 'verification mail not queued'),
        ),
      registrationOpen: config.features.registration,
      tokenTtlSeconds: config.auth.tokenTtlSeconds,
      lockout: { threshold: config.auth.lockoutThreshold, minutes: config.auth.lockoutMinutes },
      onLocked: (user, until) => {
        events.record({ kind: 'lockout', outcome: 'success', userId: user.id });
        // The owner hears of it: if it was not them, someone is trying their password.
        deps
          .sendMail?.(lockoutMail(user.email, until), `lockout-${user.id}-${until}`)
          .catch((error: unknown) => {
            logger.warn({ err: error, userId: user.id }, 'lockout mail not queued');
          });
      },
      secretKey: config.secretKey,
      cookieName: config.auth.cookieName,
      csrfCookieName: config.auth.csrfCookieName,
    }),
    ...noteRoutes({ db, reads: new ReadRouting(db, deps.replica), events, files }),
    ...attachmentRoutes({
      db,
      files,
      maxBytes: config.uploads.maxBytes,
      accelPrefix: config.uploads.accelPrefix,
    }),
    ...sessionRoutes({ db }),
    ...recoveryRoutes({
      db,
      logger,
      ttlMinutes: config.auth.resetTokenTtlMinutes,
      appUrl: config.auth.appUrl,
      sendMail: deps.sendMail,
    }),
    ...verificationRoutes({ ...verification, events }),
    ...credentialsRoutes({ ...verification, events }),
    ...adminRoutes({ db }),
    ...privacyRoutes({
      db,
      events,
      files,
      cookieName: config.auth.cookieName,
      csrfCookieName: config.auth.csrfCookieName,
    }),
  ];
  const limits = {
    redis: deps.redis,
    onLimited: deps.onRateLimited,
    storeEvents: {
      onFallback: deps.onRateLimitFallback,
      onSwitch: (limiter: string, to: 'shared' | 'local', error?: unknown) =>
        to === 'local'
          ? logger.warn({ limiter, err: error }, 'rate limit: Redis unusable; counting in this process')
          : logger.info({ limiter }, 'rate limit: counting in Redis again'),
    },
  };

  const envelope = requestEnvelope({
    logger, // one access line per request
    isQuiet: isHealthPath,
    metrics: deps.metrics,
    applySecurityHeaders: securityHeaders({ hsts: config.strict }),
    requestTimeoutMs: config.http.requestTimeoutMs, // 503 rather than a hang
  });
  app.use(envelope);
  installFrontDoor(app, { envelope, answerLive: answerAlive });
  if (sentryEnabled()) app.use(sentryRequestScope());
  mountHealthRoutes(app, {
    db,
    replica: deps.replica,
    lifecycle,
    shippedMigrations: shippedMigrations(),
    redis: deps.redis,
  });
  app.use(corsPolicy(config.cors.origins));
  app.use(
    '/api',
    generalRateLimit({ windowMs: config.rateLimit.windowMs, max: config.rateLimit.max, ...limits }),
  );
  app.use('/api', jsonBody(config.http.bodyLimitBytes, readsOwnBody));
  const authLimit = authRateLimit({
    windowMs: config.rateLimit.authWindowMs,
    max: config.rateLimit.authMax,
    ...limits,
  });
  app.use(`${API_BASE}/auth`, authLimit);
  // Erasing the account or changing its password or email checks a password too: the same limit keeps a
  // stolen session from guessing it.
  app.delete(`${API_BASE}/users/me`, authLimit);
  app.post([`${API_BASE}/users/me/password`, `${API_BASE}/users/me/email`], authLimit);

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
  const signedIn = authenticate({
    db,
    secretKey: config.secretKey,
    cookieName: config.auth.cookieName,
    allowedOrigins: config.cors.origins,
    cache: deps.sessionCache,
  });
  mountRoutes(api, routes, { required: [signedIn], admin: [signedIn, requireRole('admin')] });
  app.use(API_BASE, api);

  app.use((_req, _res, next) => next(notFound()));
  app.use(dropLateErrors());
  app.use(errorHandler({ logger, debug: config.debug, onUnexpectedError: deps.onUnexpectedError }));
  return app;
}
