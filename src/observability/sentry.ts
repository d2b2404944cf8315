import type * as SentryModule from '@sentry/node';
import type { RequestHandler, Response } from 'express';
import { CENSOR, isSecretKey } from './secret-keys.js';

export interface SentrySettings {
  dsn: string | undefined;
  environment: string;
  release: string | undefined;
}

/**
 * Loaded only when SENTRY_DSN is set: the SDK takes seconds to require on a busy machine, which every worker
 * start (and so every rolling reload) would pay for nothing.
 */
let Sentry: typeof SentryModule | undefined;

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, isSecretKey(key) ? CENSOR : scrub(inner, depth + 1)]),
  );
}

/** beforeSend: drops credentials wherever the SDK or our context put them, before the event is sent. */
export function scrubEvent<E extends SentryModule.Event>(event: E): E {
  if (event.request) {
    const { cookies: _cookies, data: _data, ...request } = event.request;
    event.request = scrub(request) as typeof event.request;
  }
  if (event.extra) event.extra = scrub(event.extra) as typeof event.extra;
  if (event.contexts) event.contexts = scrub(event.contexts) as typeof event.contexts;
  if (event.breadcrumbs) event.breadcrumbs = scrub(event.breadcrumbs) as typeof event.breadcrumbs;
  return event;
}

/**
 * Error tracking, only when SENTRY_DSN is set. Called from src/instrument.ts before the app's modules
 * load. Our own handlers report uncaught errors (then flush and exit), so Sentry's are left out; so is its
 * tracing: OpenTelemetry owns spans and Sentry attaches errors to the active OpenTelemetry span
 * (openTelemetryIntegration, the SDK v11 way of sharing a tracer provider it does not own).
 */
export function initSentry({ dsn, environment, release }: SentrySettings): boolean {
  if (!dsn || Sentry) return Sentry !== undefined;
  Sentry = require('@sentry/node') as typeof SentryModule;
  const sdk = Sentry;
  sdk.init({
    dsn,
    environment,
    release,
    // SDK v11's replacement for sendDefaultPii: false. No user details, cookies, bodies or query strings;
    // headers only from a short allow-list, so Authorization and Cookie can never be sent.
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: { request: { allow: ['user-agent', 'content-type', 'x-request-id'] }, response: false },
      httpBodies: [],
      urlQueryParams: false,
    },
    enableOpenTelemetrySetup: false,
    beforeSend: (event) => scrubEvent(event),
    beforeBreadcrumb: (breadcrumb) => scrub(breadcrumb) as typeof breadcrumb,
    integrations: (defaults) => [
      // Express: our error handler reports (with the request id) and Sentry's own capture would win the dedupe.
      ...defaults.filter(
        (i) => !['OnUncaughtException', 'OnUnhandledRejection', 'Console', 'Express'].includes(i.name),
      ),
      sdk.openTelemetryIntegration(),
    ],
  });
  return true;
}

/** True once initSentry has loaded the SDK: the app adds Sentry's per-request scope only then. */
export function sentryEnabled(): boolean {
  return Sentry !== undefined;
}

/**
 * One Sentry scope per request carrying its id and, once authenticated, the user id (an opaque UUID, not
 * PII), so an event can be matched to the access log line and to the client's X-Request-Id.
 */
export function sentryRequestScope(): RequestHandler {
  return (req, res, next) => {
    const sdk = Sentry;
    if (!sdk) return next();
    sdk.withIsolationScope((scope) => {
      scope.setTag('request_id', String(req.id));
      scope.addEventProcessor((event) => {
        const userId = (res as Response).locals.auth?.user?.id as string | undefined;
        if (userId) event.user = { id: userId };
        return event;
      });
      next();
    });
  };
}

/** For createApp's onUnexpectedError: only the 5xx that mean a bug get here, never a 4xx. */
export function reportUnexpectedError(error: unknown, context: { requestId: string }): void {
  Sentry?.captureException(error, { tags: { request_id: context.requestId } });
}

export function reportFatalError(error: unknown, origin: string): void {
  Sentry?.captureException(error, { tags: { origin }, level: 'fatal' });
}

/** Sends what is queued; bounded so a Sentry outage cannot hold a shutdown. */
export async function flushSentry(timeoutMs = 2_000): Promise<void> {
  await Sentry?.flush(timeoutMs);
}
