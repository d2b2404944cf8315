import type { Response } from 'express';

export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemKind {
  status: number;
  title: string;
  /** Headers every answer of this kind carries. */
  headers?: Record<string, string>;
}

/**
 * Every problem the API can answer with, declared once: its status, title and type (`/problems/<key>`).
 * docs/problems.md and the OpenAPI document's Problem schema are checked against this list by the tests, so
 * a client can rely on a type it has seen once meaning the same thing everywhere.
 */
export const PROBLEM_TYPES = {
  'malformed-json': { status: 400, title: 'Bad Request' },
  'malformed-request': { status: 400, title: 'Bad Request' },
  unauthenticated: { status: 401, title: 'Unauthorized', headers: { 'WWW-Authenticate': 'Bearer' } },
  'invalid-credentials': { status: 401, title: 'Unauthorized' },
  'csrf-rejected': { status: 403, title: 'Forbidden' },
  'registration-closed': { status: 403, title: 'Forbidden' },
  'password-incorrect': { status: 403, title: 'Forbidden' },
  'account-disabled': { status: 403, title: 'Forbidden' },
  'email-unverified': { status: 403, title: 'Forbidden' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not Found' },
  'method-not-allowed': { status: 405, title: 'Method Not Allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'token-invalid': { status: 410, title: 'Gone' },
  'body-too-large': { status: 413, title: 'Payload Too Large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported Media Type' },
  'request-incomplete': { status: 408, title: 'Request Timeout' },
  'expectation-failed': { status: 417, title: 'Expectation Failed' },
  'validation-error': { status: 422, title: 'Validation failed' },
  'rate-limited': { status: 429, title: 'Too Many Requests' },
  'account-locked': { status: 429, title: 'Too Many Requests', headers: { 'Retry-After': '900' } },
  'headers-too-large': { status: 431, title: 'Request Header Fields Too Large' },
  'internal-error': { status: 500, title: 'Internal Server Error' },
  'service-unavailable': { status: 503, title: 'Service Unavailable', headers: { 'Retry-After': '5' } },
  'request-timeout': { status: 503, title: 'Service Unavailable', headers: { 'Retry-After': '5' } },
  // Answered by nginx, never by the app (deploy/maintenance.sh); the site's default Retry-After.
  maintenance: { status: 503, title: 'Service Unavailable', headers: { 'Retry-After': '120' } },
} as const satisfies Record<string, ProblemKind>;

export type ProblemType = keyof typeof PROBLEM_TYPES;

export const problemTypeUri = (kind: ProblemType) => `/problems/${kind}`;

/**
 * An expected, operational failure: it becomes an RFC 9457 problem+json answer of its kind.
 * Anything thrown that is not a Problem, and not a client's fault (error-handler.ts), is a bug: a generic 500.
 */
export class Problem extends Error {
  readonly status: number;
  readonly title: string;
  /** A relative URI reference, resolved against the API's origin; the types are described in docs/problems.md. */
  readonly type: string;
  readonly headers: Record<string, string>;
  constructor(
    readonly kind: ProblemType,
    readonly detail: string,
    readonly options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'Problem';
    const declared: ProblemKind = PROBLEM_TYPES[kind];
    this.status = declared.status;
    this.title = declared.title;
    this.type = problemTypeUri(kind);
    this.headers = { ...declared.headers, ...options.headers };
  }
}

export const unauthorized = (
  detail = 'Authentication is required: send a valid bearer token or session cookie.',
) => new Problem('unauthenticated', detail);
export const notFound = (detail = 'No resource exists at this URL.') => new Problem('not-found', detail);
export const unprocessable = (errors: FieldError[]) =>
  new Problem('validation-error', 'The request body or query does not match the schema; see errors.', {
    errors,
  });

/** The problem+json body; the one place a problem is written, whoever raised it. */
export function problemBody(problem: Problem, requestId: string, instance?: string) {
  return {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...(instance !== undefined && { instance }),
    requestId,
    ...(problem.options.errors && { errors: problem.options.errors }),
  };
}

export function sendProblem(res: Response, problem: Problem, extra: Record<string, unknown> = {}): void {
  const body = {
    ...problemBody(problem, String(res.req.id ?? ''), res.req.originalUrl.split('?')[0] ?? ''),
    ...extra,
  };
  res.status(problem.status).set(problem.headers);
  res.type('application/problem+json').send(JSON.stringify(body));
}
