import { z } from 'zod';
import type { Route } from '../http/routes.js';

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail', 'requestId'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
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
  return [...fromSchema(route.params, 'path'), ...fromSchema(route.query, 'query')];
}

const COMMON_ERRORS = {
  400: 'Malformed JSON',
  401: 'Missing, invalid, expired or revoked token',
  413: 'Body over the size limit',
  415: 'Body is not JSON',
  422: 'The input does not match the schema',
  429: 'Rate limited',
};

/** OpenAPI 3.1 generated from the same zod schemas that validate the requests. */
export function buildOpenApiDocument(routes: Route[], info: { version: string; basePath: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `${info.basePath}${route.path.replace(/:(\w+)/g, '{$1}')}`;
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.schema && {
          content: { 'application/json': { schema: jsonSchema(spec.schema, 'output') } },
        }),
      };
    }
    for (const [status, description] of Object.entries(COMMON_ERRORS)) {
      if (status === '401' && route.auth === 'none') continue;
      responses[status] ??= {
        description,
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    paths[path] ??= {};
    paths[path][route.method] = {
      summary: route.summary,
      tags: [route.tag],
      ...(route.auth === 'required' && { security: [{ bearer: [] }, { session: [] }] }),
      parameters: parameters(route),
      ...(route.body && {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
        },
      }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'shipshape API', version: info.version },
    paths,
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The token from POST /auth/login' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'session',
          description: 'Unsafe methods also need X-CSRF-Token',
        },
      },
    },
  };
}
