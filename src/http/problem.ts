import { STATUS_CODES } from 'node:http';

export interface FieldError {
  path: string;
  message: string;
}

/**
 * An expected, operational failure with its HTTP status: it becomes an RFC 9457 problem+json answer.
 * Anything thrown that is not a Problem is a bug and becomes a generic 500.
 */
export class Problem extends Error {
  readonly title: string;
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly options: {
      type?: string;
      title?: string;
      errors?: FieldError[];
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.name = 'Problem';
    this.title = options.title ?? STATUS_CODES[status] ?? 'Error';
  }

  /** A relative URI reference, resolved against the API's origin; the types are described in docs/problems.md. */
  get type(): string {
    return this.options.type ? `/problems/${this.options.type}` : 'about:blank';
  }
}

export const badRequest = (detail: string) => new Problem(400, detail, { type: 'malformed-request' });
export const unauthorized = (
  detail = 'Authentication is required: send a valid bearer token or session cookie.',
) => new Problem(401, detail, { type: 'unauthenticated', headers: { 'WWW-Authenticate': 'Bearer' } });
export const forbidden = (detail: string, type = 'forbidden') => new Problem(403, detail, { type });
export const notFound = (detail = 'No resource exists at this URL.') => new Problem(404, detail);
export const conflict = (detail: string) => new Problem(409, detail, { type: 'conflict' });
export const unprocessable = (errors: FieldError[]) =>
  new Problem(422, 'The request body or query does not match the schema; see errors.', {
    type: 'validation-error',
    title: 'Validation failed',
    errors,
  });
export const serviceUnavailable = (detail: string) =>
  new Problem(503, detail, { type: 'service-unavailable', headers: { 'Retry-After': '5' } });
