import { z } from 'zod';
import { PROBLEM_TYPES, type ProblemKind, type ProblemType, problemTypeUri } from '../http/problem.js';
import type { ResponseSpec, Route } from '../http/routes.js';
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
const EVERY_OPERATION: Record<number, ResponseSpec> = {
  400: {
    description:
      'Malformed request: bad JSON, a body that does not match its Content-Encoding, a URL that does not decode',
    problems: ['malformed-json', 'malformed-request'],
  },
  405: {
    description: 'Another method is expected on this path; Allow lists them',
    problems: ['method-not-allowed'],
  },
  408: { description: 'The request was not received in time', problems: ['request-incomplete'] },
  413: { description: 'Body over the size limit', problems: ['body-too-large'] },
  415: { description: 'A body that is not UTF-8 JSON', problems: ['unsupported-media-type'] },
  417: { description: 'An Expect header other than 100-continue', problems: ['expectation-failed'] },
  429: {
    description: 'Rate limited; RateLimit and Retry-After say when to retry',
    problems: ['rate-limited'],
  },
  431: { description: 'Request headers over the size limit', problems: ['headers-too-large'] },
  500: { description: 'A bug: quote the requestId', problems: ['internal-error'] },
  503: {
    description:
      'The database is unreachable, the request ran out of time or the API is down for maintenance; Retry-After',
    problems: ['service-unavailable', 'request-timeout', 'maintenance'],
  },
};

const UNSAFE = new Set(['post', 'patch', 'delete']);

/** A body that is a file of one of these types (OpenAPI 3.1: contentMediaType, no JSON schema of its own). */
const binaryContent = (types: readonly string[], maxBytes?: number) =>
  Object.fromEntries(
    types.map((type) => [
      type,
      { schema: { type: 'string', contentMediaType: type, ...(maxBytes && { maxLength: maxBytes }) } },
    ]),
  );

const documentedHeaders = (headers: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(headers).map(([name, description]) => [
      name,
      { description, required: true, schema: { type: 'string' } },
    ]),
  );

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
    route.auth !== 'none' && UNSAFE.has(route.method)
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

/** The refusals authentication and roles add to a route's own: a 401, and a 403 for CSRF or a missing role. */
function accessRefusals(route: Route): Record<number, ResponseSpec> {
  if (route.auth === 'none') return {};
  const forbidden: ResponseSpec[] = [
    ...(UNSAFE.has(route.method)
      ? [
          {
            description: 'A cookie session without its CSRF token, or from a foreign origin',
            problems: ['csrf-rejected' as const],
          },
        ]
      : []),
    ...(route.auth === 'admin'
      ? [{ description: 'The caller is not an admin', problems: ['forbidden' as const] }]
      : []),
  ];
  const refusals: Record<number, ResponseSpec> = {
    401: {
      description: 'Missing, invalid, expired or revoked token or session',
      problems: ['unauthenticated'],
    },
  };
  if (forbidden.length > 0) refusals[403] = mergeSpecs(forbidden);
  return refusals;
}

/** One answer for a status several sources declare; without declared problem types, every type of the status. */
function mergeSpecs(specs: ResponseSpec[]): ResponseSpec {
  const problems = [...new Set(specs.flatMap((spec) => spec.problems ?? []))];
  return {
    description: specs.map((spec) => spec.description).join('; or '),
    ...(problems.length > 0 && { problems }),
  };
}

/**
 * Every status the operation can answer: its own, then what authentication, validation and the HTTP layer add.
 * Where several declare one status, the answer lists all their problem types.
 */
function responses(route: Route) {
  const sources: Record<number, ResponseSpec>[] = [
    route.responses,
    accessRefusals(route),
    route.query || route.body
      ? {
          422: {
            description: 'The query or body does not match the schema; errors names each field',
            problems: ['validation-error'],
          },
        }
      : {},
    EVERY_OPERATION,
  ];
  const statuses = [...new Set(sources.flatMap((source) => Object.keys(source).map(Number)))].sort(
    (a, b) => a - b,
  );
  return Object.fromEntries(
    statuses.map((status) => {
      const specs = sources.flatMap((source) => source[status] ?? []);
      if (status >= 400) {
        const spec = mergeSpecs(specs);
        return [status, problemResponse(status, spec.description, spec.problems)];
      }
      const [own] = specs;
      const schema = own!.schema;
      return [
        status,
        {
          description: own!.description,
          ...(schema && { content: { 'application/json': { schema: jsonSchema(schema, 'output') } } }),
          ...(own!.binary && { content: binaryContent(own!.binary) }),
          ...(own!.headers && { headers: documentedHeaders(own!.headers) }),
        },
      ];
    }),
  );
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
      security: route.auth === 'none' ? [] : [{ bearer: [] }, { session: [] }],
      parameters: parameters(route),
      ...(route.body && {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
        },
      }),
      ...(route.upload && {
        requestBody: {
          required: true,
          description: `The file itself, at most ${route.upload.maxBytes} bytes; its content must match its type`,
          content: binaryContent(route.upload.contentTypes, route.upload.maxBytes),
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
