import { z } from 'zod';
import { PROBLEM_TYPES, type ProblemKind, type ProblemType, problemTypeUri } from '../http/problem.js';
import type { Route } from '../http/routes.js';
import { QUERY_INTEGER } from '../http/schemas.js';

const PROBLEM_REF = '#/components/schemas/Problem';

/** RFC 9457 problem details; `type` is one of the catalog's (src/http/problem.ts). */
const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details (docs/problems.md)',
  required: ['type', 'title', 'status', 'detail', 'requestId'],
  properties: {
    type: { type: 'string', enum: (Object.keys(PROBLEM_TYPES) as ProblemType[]).map(problemTypeUri) },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

const kindsWithStatus = (status: number) =>
  (Object.keys(PROBLEM_TYPES) as ProblemType[]).filter((kind) => PROBLEM_TYPES[kind].status === status);

/** A problem response: the Problem schema narrowed to this status and the types it can carry. */
function problemResponse(
  status: number,
  description: string,
  kinds: ProblemType[] = kindsWithStatus(status),
) {
  const types = kinds.map(problemTypeUri);
  const names = new Set(
    kinds.flatMap((kind) => Object.keys((PROBLEM_TYPES[kind] as ProblemKind).headers ?? {})),
  );
  const headers = Object.fromEntries([...names].map((name) => [name, { schema: { type: 'string' } }]));
  return {
    description: `${description} (${types.join(', ')})`,
    ...(Object.keys(headers).length > 0 && { headers }),
    content: {
      'application/problem+json': {
        schema: {
          type: 'object',
          allOf: [{ $ref: PROBLEM_REF }],
          properties: { status: { const: status }, type: { enum: types } },
        },
      },
    },
  };
}

/** Failures any operation can meet: HTTP framing, body handling, rate limits and the service's own health. */
const EVERY_OPERATION: Record<number, string> = {
  400: 'Malformed request: bad JSON, a body that does not match its Content-Encoding, a URL that does not decode',
  405: 'Another method is expected on this path; Allow lists them',
  408: 'The request was not received in time',
  413: 'Body over the size limit',
  415: 'A body that is not UTF-8 JSON',
  417: 'An Expect header other than 100-continue',
  429: 'Rate limited; RateLimit and Retry-After say when to retry',
  431: 'Request headers over the size limit',
  500: 'A bug: quote the requestId',
  503: 'The database is unreachable or the request ran out of time; Retry-After',
};

const UNSAFE = new Set(['post', 'patch', 'delete']);

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    // A query integer arrives as text and is parsed; the document describes the number a client sends.
    override: ({ jsonSchema: generated }) => {
      const integer = (generated as Record<string, unknown>)[QUERY_INTEGER];
      if (!integer) return;
      for (const key of Object.keys(generated)) delete (generated as Record<string, unknown>)[key];
      Object.assign(generated, { type: 'integer', ...integer });
    },
  });
  return rest;
};

function parameters(route: Route) {
  const fromSchema = (schema: z.ZodType | undefined, where: 'path' | 'query') => {
    if (!schema) return [];
    const shape = jsonSchema(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
    return Object.entries(shape.properties ?? {}).map(([name, property]) => ({
      name,
      in: where,
      required: where === 'path' || (shape.required ?? []).includes(name),
      schema: property,
    }));
  };
  const csrf =
    route.auth === 'required' && UNSAFE.has(route.method)
      ? [
          {
            name: 'X-CSRF-Token',
            in: 'header',
            required: false,
            description:
              'Required with the session cookie: the csrfToken from login. Not needed with a bearer token.',
            schema: { type: 'string' },
          },
        ]
      : [];
  return [...fromSchema(route.params, 'path'), ...fromSchema(route.query, 'query'), ...csrf];
}

function responses(route: Route) {
  const answers: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    answers[status] =
      Number(status) >= 400
        ? problemResponse(Number(status), spec.description, spec.problems)
        : {
            description: spec.description,
            ...(spec.schema && {
              content: { 'application/json': { schema: jsonSchema(spec.schema, 'output') } },
            }),
          };
  }
  if (route.auth === 'required') {
    answers[401] ??= problemResponse(401, 'Missing, invalid, expired or revoked token or session', [
      'unauthenticated',
    ]);
    if (UNSAFE.has(route.method))
      answers[403] ??= problemResponse(
        403,
        'A cookie session without its CSRF token, or from a foreign origin',
        ['csrf-rejected'],
      );
  }
  if (route.query || route.body)
    answers[422] ??= problemResponse(
      422,
      'The query or body does not match the schema; errors names each field',
    );
  for (const [status, description] of Object.entries(EVERY_OPERATION))
    answers[status] ??= problemResponse(Number(status), description);
  return Object.fromEntries(Object.entries(answers).sort(([a], [b]) => Number(a) - Number(b)));
}

export interface DocumentOptions {
  version: string;
  basePath: string;
  /** The session cookie's name in this environment (`__Host-session` where the configuration is strict). */
  cookieName: string;
}

/** OpenAPI 3.1 generated from the same zod schemas that validate the requests. */
export function buildOpenApiDocument(routes: Route[], info: DocumentOptions) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `${info.basePath}${route.path.replace(/:(\w+)/g, '{$1}')}`;
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      security: route.auth === 'required' ? [{ bearer: [] }, { session: [] }] : [],
      parameters: parameters(route),
      ...(route.body && {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
        },
      }),
      responses: responses(route),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'shipshape API',
      version: info.version,
      description: 'Accounts and notes. Errors are RFC 9457 problem+json (docs/problems.md).',
      license: { name: 'MIT', identifier: 'MIT' },
      contact: { name: 'The team that runs this service' },
    },
    servers: [{ url: '/', description: 'The server that serves this document' }],
    tags: [
      { name: 'accounts', description: 'Sign-up, log-in and sessions' },
      { name: 'notes', description: 'Notes owned by the caller' },
    ],
    paths,
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The token from POST /auth/login' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: info.cookieName,
          description: 'The session cookie set by POST /auth/login; unsafe methods also need X-CSRF-Token',
        },
      },
    },
  };
}
